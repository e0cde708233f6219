// RUN: gm-opt %s --gm-matmul-to-blas --cse --split-input-file | FileCheck %s

// A product into a zero-filled output: one SGEMM call with beta = 0, the
// fill gone; pointers are the buffers' aligned addresses plus their offsets.
// CHECK-LABEL: func.func @plain
// CHECK-NOT: linalg.fill
// CHECK-DAG: %[[F:.*]] = arith.constant 0 : i32
// CHECK-DAG: %[[BETA:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: call @gmrt_sgemm(%[[F]], %[[F]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BETA]], %{{.*}}, %{{.*}}) : (i32, i32, i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, f32, !llvm.ptr, i64) -> ()
// CHECK-NOT: linalg.matmul
// CHECK: func.func private @gmrt_sgemm
func.func @plain(%a: memref<?x8xf32>, %b: memref<8x4xf32>, %c: memref<?x4xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<?x4xf32>)
  linalg.matmul ins(%a, %b : memref<?x8xf32>, memref<8x4xf32>) outs(%c : memref<?x4xf32>)
  return
}

// -----

// Transposed operands set the flags; an output that already holds values
// (a bias) accumulates: beta = 1.
// CHECK-LABEL: func.func @transposed
// CHECK-DAG: %[[T:.*]] = arith.constant 1 : i32
// CHECK-DAG: %[[N:.*]] = arith.constant 0 : i32
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: call @gmrt_sgemm(%[[T]], %[[N]], {{.*}}, %[[ONE]], {{.*}})
// CHECK: call @gmrt_sgemm(%[[N]], %[[T]], {{.*}}, %[[ONE]], {{.*}})
func.func @transposed(%a: memref<8x?xf32>, %b: memref<8x4xf32>, %c: memref<?x4xf32>,
                      %x: memref<?x8xf32>, %w: memref<4x8xf32>) {
  linalg.matmul_transpose_a ins(%a, %b : memref<8x?xf32>, memref<8x4xf32>) outs(%c : memref<?x4xf32>)
  linalg.matmul_transpose_b ins(%x, %w : memref<?x8xf32>, memref<4x8xf32>) outs(%c : memref<?x4xf32>)
  return
}

// -----

// Rows that are not contiguous stay a linalg.matmul (lowered to loops).
// CHECK-LABEL: func.func @strided
// CHECK: linalg.matmul
// CHECK-NOT: call @gmrt_sgemm
func.func @strided(%a: memref<4x8xf32, strided<[16, 2]>>, %b: memref<8x4xf32>, %c: memref<4x4xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32, strided<[16, 2]>>, memref<8x4xf32>) outs(%c : memref<4x4xf32>)
  return
}
