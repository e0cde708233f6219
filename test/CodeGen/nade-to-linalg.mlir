// RUN: gm-opt %s --convert-gm-to-linalg --canonicalize --cse | FileCheck %s

// NADE's recurrences (GMToLinalg/Autoregressive.cpp). With H = 200 hidden
// units, scoring runs in ceil(200 / 128) = 2 chunks of units, an scf.forall
// whose iteration c takes units [128 c, 128 c + min(128, 200 - 128 c)) and
// runs the whole loop over the D = 16 pixels on them, writing its partial
// logits to plane c of a (2, B, D) tensor; the logits are then b plus the
// planes, added in chunk order (c is the innermost, reduction loop).
// CHECK-LABEL: func.func @score
// CHECK-DAG: %[[H:.*]] = arith.constant 200 : index
// CHECK-DAG: %[[CH:.*]] = arith.constant 128 : index
// CHECK: %[[PLANES:.*]] = tensor.empty(%{{.*}}) : tensor<2x?x16xf32>
// CHECK: %[[PARTS:.*]] = scf.forall (%[[C:.*]]) in (2) shared_outs(%[[OUT:.*]] = %[[PLANES]]) -> (tensor<2x?x16xf32>) {
// CHECK: %[[H0:.*]] = arith.muli %[[C]], %[[CH]]
// CHECK: %[[LEFT:.*]] = arith.subi %[[H]], %[[H0]]
// CHECK: %[[W:.*]] = arith.minsi %[[LEFT]], %[[CH]]
// CHECK: tensor.extract_slice %{{.*}}[0, %[[H0]]] [16, %[[W]]] [1, 1] : tensor<16x200xf32> to tensor<16x?xf32>
// CHECK: %[[MINE:.*]] = tensor.extract_slice %[[OUT]][%[[C]], 0, 0] [1, %{{.*}}, 16] [1, 1, 1] : tensor<2x?x16xf32> to tensor<?x16xf32>
// CHECK: %[[LOOP:.*]]:3 = scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %[[MINE]], %{{.*}} = %{{.*}}) -> (tensor<?x?xf32>, tensor<?x16xf32>, tensor<?xf32>)
// CHECK: scf.forall.in_parallel {
// CHECK-NEXT: tensor.parallel_insert_slice %[[LOOP]]#1 into %[[OUT]][%[[C]], 0, 0] [1, %{{.*}}, 16] [1, 1, 1]
// CHECK: %[[BIAS:.*]] = linalg.generic {{.*}} ins(%arg4 : tensor<16xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[CBD:.*]], #{{.*}}], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[PARTS]] : tensor<2x?x16xf32>) outs(%[[BIAS]] : tensor<?x16xf32>)
func.func @score(%x: tensor<?x16xf32>, %W: tensor<200x16xf32>, %c: tensor<200xf32>,
                 %V: tensor<16x200xf32>, %b: tensor<16xf32>) -> tensor<?x16xf32> {
  %0 = gm.nade %x, %W, %c, %V, %b : (tensor<?x16xf32>, tensor<200x16xf32>, tensor<200xf32>, tensor<16x200xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// The gradient: a_D = c + x W^T by one product, then the chunks walk back
// over the pixels in parallel, each writing its units' columns of s, dW^T
// and dV and its plane of the data adjoint, which are added after.
// CHECK-LABEL: func.func @grad
// CHECK: %[[AD:.*]] = linalg.matmul_transpose_b
// CHECK: %[[G:.*]]:4 = scf.forall (%[[C:.*]]) in (2) shared_outs({{.*}}) -> (tensor<?x200xf32>, tensor<16x200xf32>, tensor<16x200xf32>, tensor<2x?x16xf32>) {
// CHECK: tensor.extract_slice %[[AD]][0, %[[H0:.*]]] [%{{.*}}, %[[W:.*]]] [1, 1] : tensor<?x200xf32> to tensor<?x?xf32>
// CHECK: %[[LOOP:.*]]:5 = scf.for
// CHECK: scf.forall.in_parallel {
// CHECK-NEXT: tensor.parallel_insert_slice %[[LOOP]]#1 into %{{.*}}[0, %[[H0]]] [%{{.*}}, %[[W]]] [1, 1] : tensor<?x?xf32> into tensor<?x200xf32>
// CHECK-NEXT: tensor.parallel_insert_slice %[[LOOP]]#2 into %{{.*}}[0, %[[H0]]] [16, %[[W]]] [1, 1] : tensor<16x?xf32> into tensor<16x200xf32>
// CHECK-NEXT: tensor.parallel_insert_slice %[[LOOP]]#3 into %{{.*}}[0, %[[H0]]] [16, %[[W]]] [1, 1] : tensor<16x?xf32> into tensor<16x200xf32>
// CHECK-NEXT: tensor.parallel_insert_slice %[[LOOP]]#4 into %{{.*}}[%[[C]], 0, 0] [1, %{{.*}}, 16] [1, 1, 1] : tensor<?x16xf32> into tensor<2x?x16xf32>
// CHECK: %[[DX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[G]]#3 : tensor<2x?x16xf32>)
// CHECK: %[[DW:.*]] = linalg.transpose ins(%[[G]]#1 : tensor<16x200xf32>)
// CHECK: %[[DC:.*]] = linalg.generic {{.*}} ins(%[[G]]#0 : tensor<?x200xf32>)
// CHECK: return %[[DX]], %[[DW]], %[[DC]], %[[G]]#2, %{{.*}}
func.func @grad(%x: tensor<?x16xf32>, %W: tensor<200x16xf32>, %c: tensor<200xf32>,
                %V: tensor<16x200xf32>, %b: tensor<16xf32>, %g: tensor<?x16xf32>)
    -> (tensor<?x16xf32>, tensor<200x16xf32>, tensor<200xf32>, tensor<16x200xf32>, tensor<16xf32>) {
  %0:5 = gm.nade_grad %x, %W, %c, %V, %b, %g : (tensor<?x16xf32>, tensor<200x16xf32>, tensor<200xf32>, tensor<16x200xf32>, tensor<16xf32>, tensor<?x16xf32>) -> (tensor<?x16xf32>, tensor<200x16xf32>, tensor<200xf32>, tensor<16x200xf32>, tensor<16xf32>)
  return %0#0, %0#1, %0#2, %0#3, %0#4 : tensor<?x16xf32>, tensor<200x16xf32>, tensor<200xf32>, tensor<16x200xf32>, tensor<16xf32>
}

// 128 units or fewer are one chunk: one loop over the pixels with static
// widths and the bias in the logits, no forall and no planes.
// CHECK-LABEL: func.func @small
// CHECK-NOT: scf.forall
// CHECK: scf.for {{.*}} -> (tensor<?x5xf32>, tensor<?x16xf32>, tensor<?xf32>)
// CHECK-NOT: scf.forall
// CHECK: return
func.func @small(%x: tensor<?x16xf32>, %W: tensor<5x16xf32>, %c: tensor<5xf32>,
                 %V: tensor<16x5xf32>, %b: tensor<16xf32>) -> tensor<?x16xf32> {
  %0 = gm.nade %x, %W, %c, %V, %b : (tensor<?x16xf32>, tensor<5x16xf32>, tensor<5xf32>, tensor<16x5xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// Ancestral sampling needs the whole logit of d before drawing x_d: one loop
// even with 200 units.
// CHECK-LABEL: func.func @sample
// CHECK-NOT: scf.forall
// CHECK: scf.for {{.*}} -> (tensor<?x200xf32>, tensor<?x16xf32>, tensor<?xf32>)
// CHECK-NOT: scf.forall
// CHECK: return
func.func @sample(%u: tensor<?x16xf32>, %W: tensor<200x16xf32>, %c: tensor<200xf32>,
                  %V: tensor<16x200xf32>, %b: tensor<16xf32>) -> tensor<?x16xf32> {
  %0 = gm.ar_sample %u : tensor<?x16xf32> -> tensor<?x16xf32> {
  ^bb0(%x: tensor<?x16xf32>):
    %l = gm.nade %x, %W, %c, %V, %b : (tensor<?x16xf32>, tensor<200x16xf32>, tensor<200xf32>, tensor<16x200xf32>, tensor<16xf32>) -> tensor<?x16xf32>
    gm.yield %l : tensor<?x16xf32>
  }
  return %0 : tensor<?x16xf32>
}
