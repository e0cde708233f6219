// RUN: gm-opt %s --pass-pipeline='builtin.module(gpu.module(gm-precise-gpu-roots))' | FileCheck %s

// In a CUDA kernel, f32 square roots (Adam's update) and reciprocal roots
// (batch norm) become NVVM's round-to-nearest sqrt, sqrt.rn.f32 in PTX: the
// value the CPU computes (libdevice's sqrtf would be sqrt.approx.f32). f64
// roots stay for libdevice (sqrt.rn.f64); host code is not touched.
// CHECK-LABEL: gpu.module @gm_kernels
// CHECK: gpu.func @k(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[C:.*]]: f64)
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[R:.*]] = llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f"(%[[A]]) : (f32) -> f32
// CHECK-DAG: %[[S:.*]] = llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f"(%[[B]]) : (f32) -> f32
// CHECK-DAG: %[[INV:.*]] = arith.divf %[[ONE]], %[[S]] : f32
// CHECK-DAG: math.sqrt %[[C]] : f64
// CHECK-NOT: math.rsqrt
// CHECK: gpu.return
// CHECK-LABEL: func.func @host
// CHECK-NEXT: math.sqrt %{{.*}} : f32
module attributes {gpu.container_module} {
  gpu.module @gm_kernels {
    gpu.func @k(%a: f32, %b: f32, %c: f64) kernel {
      %r = math.sqrt %a : f32
      %s = math.rsqrt %b : f32
      %d = math.sqrt %c : f64
      gpu.return
    }
  }
  func.func @host(%x: f32) -> f32 {
    %r = math.sqrt %x : f32
    return %r : f32
  }
}
