// RUN: gm-opt %s --gm-outline-kernels --split-input-file | FileCheck %s

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// Two copies of one op on different buffers call one kernel; its operands
// are the kernel's arguments, and the constant its payload uses from outside
// is cloned in.
// CHECK-LABEL: func.func @copies
// CHECK-SAME: (%[[A:.*]]: memref<?x400xf32>, %[[B:.*]]: memref<?x400xf32>, %[[C:.*]]: memref<?x400xf32>, %[[D:.*]]: memref<?x400xf32>)
// CHECK: call @gm_kernel_0(%[[A]], %[[B]])
// CHECK-NEXT: call @gm_kernel_0(%[[C]], %[[D]])
// CHECK-NEXT: return
// CHECK: func.func private @gm_kernel_0(%[[X:.*]]: memref<?x400xf32>, %[[Y:.*]]: memref<?x400xf32>) attributes {gm.kernel}
// CHECK-NEXT: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-NEXT: linalg.generic {{.*}} ins(%[[X]] : memref<?x400xf32>) outs(%[[Y]] : memref<?x400xf32>)
// CHECK: arith.mulf %{{.*}}, %[[HALF]]
// CHECK: return
// CHECK-NOT: gm_kernel_1
func.func @copies(%a: memref<?x400xf32>, %b: memref<?x400xf32>, %c: memref<?x400xf32>, %d: memref<?x400xf32>) {
  %half = arith.constant 0.5 : f32
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<?x400xf32>) outs(%b : memref<?x400xf32>) {
  ^bb0(%x: f32, %y: f32):
    %m = arith.mulf %x, %half : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<?x400xf32>) outs(%d : memref<?x400xf32>) {
  ^bb0(%x: f32, %y: f32):
    %m = arith.mulf %x, %half : f32
    linalg.yield %m : f32
  }
  return
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// An in-place op (one buffer read and written) keeps it one argument; a
// value the payload uses that is not a constant becomes an argument after
// the operands. A different payload is a different kernel.
// CHECK-LABEL: func.func @in_place
// CHECK-SAME: (%[[P:.*]]: memref<64x8xf32>, %[[G:.*]]: memref<64x8xf32>, %[[LR:.*]]: f32)
// CHECK-NEXT: call @gm_kernel_0(%[[G]], %[[P]], %[[LR]]) : (memref<64x8xf32>, memref<64x8xf32>, f32) -> ()
// CHECK-NEXT: call @gm_kernel_1(%[[P]]) : (memref<64x8xf32>) -> ()
// CHECK: func.func private @gm_kernel_0(%[[X:.*]]: memref<64x8xf32>, %[[Y:.*]]: memref<64x8xf32>, %[[S:.*]]: f32)
// CHECK: ins(%[[X]], %[[Y]] : memref<64x8xf32>, memref<64x8xf32>) outs(%[[Y]] : memref<64x8xf32>)
// CHECK: arith.mulf %{{.*}}, %[[S]]
// CHECK: func.func private @gm_kernel_1(%{{.*}}: memref<64x8xf32>)
// CHECK: math.exp
func.func @in_place(%p: memref<64x8xf32>, %g: memref<64x8xf32>, %lr: f32) {
  linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%g, %p : memref<64x8xf32>, memref<64x8xf32>) outs(%p : memref<64x8xf32>) {
  ^bb0(%x: f32, %w: f32, %o: f32):
    %s = arith.mulf %x, %lr : f32
    %n = arith.subf %w, %s : f32
    linalg.yield %n : f32
  }
  linalg.generic {indexing_maps = [#id2], iterator_types = ["parallel", "parallel"]}
      outs(%p : memref<64x8xf32>) {
  ^bb0(%o: f32):
    %e = math.exp %o : f32
    linalg.yield %e : f32
  }
  return
}

// -----

#id1 = affine_map<(d0) -> (d0)>

// Rows of one buffer at different static offsets share a kernel: the
// offset becomes dynamic in its argument's type, through a memref.cast.
// CHECK-LABEL: func.func @rows
// CHECK: %[[R0:.*]] = memref.subview %{{.*}}[0, 0] [1, 28]
// CHECK: %[[R1:.*]] = memref.subview %{{.*}}[1, 0] [1, 28]
// CHECK: %[[O0:.*]] = memref.subview %{{.*}}[0, 0] [1, 28]
// CHECK: %[[O1:.*]] = memref.subview %{{.*}}[1, 0] [1, 28]
// CHECK: %[[C0:.*]] = memref.cast %[[R0]] : memref<28xf32, strided<[1]>> to memref<28xf32, strided<[1], offset: ?>>
// CHECK: call @gm_kernel_0(%[[C0]], %{{.*}})
// CHECK: %[[C1:.*]] = memref.cast %[[R1]] : memref<28xf32, strided<[1], offset: 28>> to memref<28xf32, strided<[1], offset: ?>>
// CHECK: call @gm_kernel_0(%[[C1]], %{{.*}})
// CHECK: func.func private @gm_kernel_0(%{{.*}}: memref<28xf32, strided<[1], offset: ?>>, %{{.*}}: memref<28xf32, strided<[1], offset: ?>>)
// CHECK-NOT: gm_kernel_1
func.func @rows(%x: memref<2x28xf32>, %y: memref<2x28xf32>) {
  %r0 = memref.subview %x[0, 0] [1, 28] [1, 1] : memref<2x28xf32> to memref<28xf32, strided<[1]>>
  %r1 = memref.subview %x[1, 0] [1, 28] [1, 1] : memref<2x28xf32> to memref<28xf32, strided<[1], offset: 28>>
  %o0 = memref.subview %y[0, 0] [1, 28] [1, 1] : memref<2x28xf32> to memref<28xf32, strided<[1]>>
  %o1 = memref.subview %y[1, 0] [1, 28] [1, 1] : memref<2x28xf32> to memref<28xf32, strided<[1], offset: 28>>
  linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%r0 : memref<28xf32, strided<[1]>>) outs(%o0 : memref<28xf32, strided<[1]>>) {
  ^bb0(%a: f32, %b: f32):
    %t = math.tanh %a : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%r1 : memref<28xf32, strided<[1], offset: 28>>) outs(%o1 : memref<28xf32, strided<[1], offset: 28>>) {
  ^bb0(%a: f32, %b: f32):
    %t = math.tanh %a : f32
    linalg.yield %t : f32
  }
  return
}

// -----

#id1 = affine_map<(d0) -> (d0)>

// Ops whose distinct operands may share a buffer stay where they are: two
// views of one allocation, and a buffer a loop carries (its root is not
// known). The kernel's pointers are noalias, which neither could promise.
// CHECK-LABEL: func.func @overlap
// CHECK-NOT: call @gm_kernel
// CHECK: linalg.generic
// CHECK: scf.for
// CHECK: linalg.generic
// CHECK-NOT: call @gm_kernel
// CHECK: return
// CHECK-NOT: gm_kernel
func.func @overlap(%n: index) {
  %buf = memref.alloc() : memref<56xf32>
  %lo = memref.subview %buf[0] [28] [1] : memref<56xf32> to memref<28xf32, strided<[1]>>
  %hi = memref.subview %buf[28] [28] [1] : memref<56xf32> to memref<28xf32, strided<[1], offset: 28>>
  linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%lo : memref<28xf32, strided<[1]>>) outs(%hi : memref<28xf32, strided<[1], offset: 28>>) {
  ^bb0(%a: f32, %b: f32):
    linalg.yield %a : f32
  }
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %other = memref.alloc() : memref<28xf32>
  %last = scf.for %i = %c0 to %n step %c1 iter_args(%cur = %other) -> (memref<28xf32>) {
    linalg.generic {indexing_maps = [#id1], iterator_types = ["parallel"]}
        outs(%cur : memref<28xf32>) {
    ^bb0(%b: f32):
      %e = math.exp %b : f32
      linalg.yield %e : f32
    }
    scf.yield %cur : memref<28xf32>
  }
  memref.dealloc %buf : memref<56xf32>
  memref.dealloc %other : memref<28xf32>
  return
}

// -----

#id1 = affine_map<(d0) -> (d0)>

// Inputs that are views of one buffer, read only (a row LSTM's gates at
// three offsets of one allocation), do not stop an op from becoming a kernel:
// noalias promises nothing about memory no one writes. The output, in place,
// is a buffer of its own.
// CHECK-LABEL: func.func @shared_inputs
// CHECK: %[[BUF:.*]] = memref.alloc() : memref<56xf32>
// CHECK: %[[LO:.*]] = memref.subview %[[BUF]][0]
// CHECK: %[[HI:.*]] = memref.subview %[[BUF]][28]
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<28xf32>
// CHECK: call @gm_kernel_0(%{{.*}}, %{{.*}}, %[[OUT]])
// CHECK-NOT: linalg.generic
// CHECK: return
// CHECK: func.func private @gm_kernel_0
// CHECK: linalg.generic
func.func @shared_inputs() {
  %buf = memref.alloc() : memref<56xf32>
  %lo = memref.subview %buf[0] [28] [1] : memref<56xf32> to memref<28xf32, strided<[1]>>
  %hi = memref.subview %buf[28] [28] [1] : memref<56xf32> to memref<28xf32, strided<[1], offset: 28>>
  %out = memref.alloc() : memref<28xf32>
  linalg.generic {indexing_maps = [#id1, #id1, #id1], iterator_types = ["parallel"]}
      ins(%lo, %hi : memref<28xf32, strided<[1]>>, memref<28xf32, strided<[1], offset: 28>>)
      outs(%out : memref<28xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %s = arith.addf %a, %b : f32
    %t = arith.addf %s, %c : f32
    linalg.yield %t : f32
  }
  memref.dealloc %buf : memref<56xf32>
  memref.dealloc %out : memref<28xf32>
  return
}
