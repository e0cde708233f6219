// RUN: gm-opt %s --split-input-file --convert-gm-to-linalg | FileCheck %s

// Tests that gm.nade is one loop over the D = 6 conditionals carrying the
// (B, H) pre-activation and the logits: W transposed once, a_0 = c, then per
// step the logit column (sigmoid(a) . V[d] + b_d, a reduction over h) and the
// in-place update a += x_d W[:, d]. No (B, D, H) tensor appears.

// CHECK-LABEL: func.func @nade
// CHECK-SAME: (%[[X:.*]]: tensor<?x6xf32>, %[[W:.*]]: tensor<3x6xf32>, %[[C:.*]]: tensor<3xf32>, %[[V:.*]]: tensor<6x3xf32>, %[[B:.*]]: tensor<6xf32>)
// CHECK-NOT: tensor<?x6x3xf32>
// CHECK: %[[WT:.*]] = linalg.transpose ins(%[[W]] : tensor<3x6xf32>) outs({{.*}} : tensor<6x3xf32>) permutation = [1, 0]
// CHECK: %[[A0:.*]] = linalg.generic {{.*}} ins(%[[C]] : tensor<3xf32>) outs({{.*}} : tensor<?x3xf32>)
// CHECK: %[[C6:.*]] = arith.constant 6 : index
// CHECK: %[[LOOP:.*]]:2 = scf.for %[[D:.*]] = %{{.*}} to %[[C6]] step %{{.*}} iter_args(%[[A:.*]] = %[[A0]], %[[L:.*]] = %{{.*}}) -> (tensor<?x3xf32>, tensor<?x6xf32>)
// CHECK:   %[[BD:.*]] = tensor.extract %[[B]][%[[D]]] : tensor<6xf32>
// CHECK:   %[[INIT:.*]] = linalg.fill ins(%[[BD]] : f32)
// CHECK:   %[[VD:.*]] = tensor.extract_slice %[[V]][%[[D]], 0] [1, 3] [1, 1] : tensor<6x3xf32> to tensor<3xf32>
// CHECK:   %[[COL:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[A]], %[[VD]] : tensor<?x3xf32>, tensor<3xf32>) outs(%[[INIT]] : tensor<?xf32>)
// CHECK:     math.exp
// CHECK:     arith.addf %{{.*}}, %{{.*}} fastmath<reassoc> : f32
// CHECK:   %[[XD:.*]] = tensor.extract_slice %[[X]][0, %[[D]]] [%{{.*}}, 1] [1, 1] : tensor<?x6xf32> to tensor<?xf32>
// CHECK:   %[[NL:.*]] = tensor.insert_slice %[[COL]] into %[[L]][0, %[[D]]] [%{{.*}}, 1] [1, 1] : tensor<?xf32> into tensor<?x6xf32>
// CHECK:   %[[WD:.*]] = tensor.extract_slice %[[WT]][%[[D]], 0] [1, 3] [1, 1] : tensor<6x3xf32> to tensor<3xf32>
// CHECK:   %[[NA:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[XD]], %[[WD]] : tensor<?xf32>, tensor<3xf32>) outs(%[[A]] : tensor<?x3xf32>)
// CHECK:   scf.yield %[[NA]], %[[NL]] : tensor<?x3xf32>, tensor<?x6xf32>
// CHECK: return %[[LOOP]]#1 : tensor<?x6xf32>
func.func @nade(%x: tensor<?x6xf32>, %w: tensor<3x6xf32>, %c: tensor<3xf32>, %v: tensor<6x3xf32>, %b: tensor<6xf32>) -> tensor<?x6xf32> {
  %l = gm.nade %x, %w, %c, %v, %b : (tensor<?x6xf32>, tensor<3x6xf32>, tensor<3xf32>, tensor<6x3xf32>, tensor<6xf32>) -> tensor<?x6xf32>
  return %l : tensor<?x6xf32>
}

// -----

// Tests that gm.nade_grad starts from a_D = c + x W^T (one product) and walks
// d down from D - 1, carrying a, the running hidden adjoint s and the rows
// of dW^T and dV; dc is s summed over the batch, db the adjoint's column
// sums, dW the carried rows transposed back. The data adjoint is unused
// here, so no per-step dx column is computed.

// CHECK-LABEL: func.func @nade_grad
// CHECK-SAME: (%[[X:.*]]: tensor<?x6xf32>, %[[W:.*]]: tensor<3x6xf32>, %[[C:.*]]: tensor<3xf32>, %[[V:.*]]: tensor<6x3xf32>, %[[B:.*]]: tensor<6xf32>, %[[G:.*]]: tensor<?x6xf32>)
// CHECK: %[[WT:.*]] = linalg.transpose ins(%[[W]]
// CHECK: %[[CB:.*]] = linalg.generic {{.*}} ins(%[[C]] : tensor<3xf32>)
// CHECK: %[[AD:.*]] = linalg.matmul_transpose_b ins(%[[X]], %[[W]] : tensor<?x6xf32>, tensor<3x6xf32>) outs(%[[CB]] : tensor<?x3xf32>)
// CHECK: %[[LOOP:.*]]:4 = scf.for %[[K:.*]] = {{.*}} iter_args(%[[A:.*]] = %[[AD]], %[[S:.*]] = %{{.*}}, %[[DWT:.*]] = %{{.*}}, %[[DV:.*]] = %{{.*}}) -> (tensor<?x3xf32>, tensor<?x3xf32>, tensor<6x3xf32>, tensor<6x3xf32>)
// CHECK:   %[[D:.*]] = arith.subi %{{.*}}, %[[K]] : index
// CHECK:   %[[AH:.*]]:2 = linalg.generic {{.*}} outs(%[[A]], %{{.*}} : tensor<?x3xf32>, tensor<?x3xf32>)
// CHECK:     arith.subf
// CHECK:     math.exp
// CHECK:   %[[DWR:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%{{.*}}, %[[S]] : tensor<?xf32>, tensor<?x3xf32>) outs(%{{.*}} : tensor<3xf32>)
// CHECK:   tensor.insert_slice %[[DWR]] into %[[DWT]][%[[D]], 0] [1, 3] [1, 1]
// CHECK:   %[[DVR:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%{{.*}}, %[[AH]]#1 : tensor<?xf32>, tensor<?x3xf32>) outs(%{{.*}} : tensor<3xf32>)
// CHECK:   tensor.insert_slice %[[DVR]] into %[[DV]][%[[D]], 0] [1, 3] [1, 1]
// CHECK:   linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %[[AH]]#1 : tensor<?xf32>, tensor<3xf32>, tensor<?x3xf32>) outs(%[[S]] : tensor<?x3xf32>)
// CHECK:   scf.yield
// CHECK: linalg.transpose ins(%[[LOOP]]#2 : tensor<6x3xf32>) outs(%{{.*}} : tensor<3x6xf32>) permutation = [1, 0]
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%[[LOOP]]#1 : tensor<?x3xf32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%[[G]] : tensor<?x6xf32>)
func.func @nade_grad(%x: tensor<?x6xf32>, %w: tensor<3x6xf32>, %c: tensor<3xf32>, %v: tensor<6x3xf32>, %b: tensor<6xf32>, %g: tensor<?x6xf32>) -> (tensor<3x6xf32>, tensor<3xf32>, tensor<6x3xf32>, tensor<6xf32>) {
  %dx, %dw, %dc, %dv, %db = gm.nade_grad %x, %w, %c, %v, %b, %g : (tensor<?x6xf32>, tensor<3x6xf32>, tensor<3xf32>, tensor<6x3xf32>, tensor<6xf32>, tensor<?x6xf32>) -> (tensor<?x6xf32>, tensor<3x6xf32>, tensor<3xf32>, tensor<6x3xf32>, tensor<6xf32>)
  return %dw, %dc, %dv, %db : tensor<3x6xf32>, tensor<3xf32>, tensor<6x3xf32>, tensor<6xf32>
}

// -----

// Tests that the data adjoint, when used, is one more carried (B, D) tensor
// whose column d is W[:, d] . s, a reduction over h, taken before s absorbs
// step d.

// CHECK-LABEL: func.func @nade_dx
// CHECK: %[[LOOP:.*]]:5 = scf.for {{.*}} iter_args(%{{.*}}, %[[S:.*]] = %{{.*}}, %{{.*}}, %{{.*}}, %[[DX:.*]] = %{{.*}}) -> (tensor<?x3xf32>, tensor<?x3xf32>, tensor<6x3xf32>, tensor<6x3xf32>, tensor<?x6xf32>)
// CHECK:   %[[COL:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[S]], %{{.*}} : tensor<?x3xf32>, tensor<3xf32>)
// CHECK:   tensor.insert_slice %[[COL]] into %[[DX]]
// CHECK:   outs(%[[S]] : tensor<?x3xf32>)
// CHECK: return %[[LOOP]]#4
func.func @nade_dx(%x: tensor<?x6xf32>, %w: tensor<3x6xf32>, %c: tensor<3xf32>, %v: tensor<6x3xf32>, %b: tensor<6xf32>, %g: tensor<?x6xf32>) -> tensor<?x6xf32> {
  %dx, %dw, %dc, %dv, %db = gm.nade_grad %x, %w, %c, %v, %b, %g : (tensor<?x6xf32>, tensor<3x6xf32>, tensor<3xf32>, tensor<6x3xf32>, tensor<6xf32>, tensor<?x6xf32>) -> (tensor<?x6xf32>, tensor<3x6xf32>, tensor<3xf32>, tensor<6x3xf32>, tensor<6xf32>)
  return %dx : tensor<?x6xf32>
}

// -----

// Tests that sampling a NADE is the forward recurrence with the draw inside:
// per step the logit column, x_d = [u_d < sigmoid(logit_d)] written into the
// sample, and x_d (not the data) feeding a += x_d W[:, d]. The region is
// not run.

// CHECK-LABEL: func.func @nade_sample
// CHECK-SAME: (%[[U:.*]]: tensor<?x6xf32>, %[[W:.*]]: tensor<3x6xf32>
// CHECK-NOT: gm.
// CHECK: %[[WT:.*]] = linalg.transpose ins(%[[W]]
// CHECK: scf.for %[[D:.*]] = {{.*}} iter_args(%[[A:.*]] = %{{.*}}, %[[X:.*]] = %{{.*}})
// CHECK:   %[[COL:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]}
// CHECK:   %[[UD:.*]] = tensor.extract_slice %[[U]][0, %[[D]]] [%{{.*}}, 1] [1, 1]
// CHECK:   %[[XD:.*]] = linalg.generic {{.*}} ins(%[[COL]], %[[UD]] : tensor<?xf32>, tensor<?xf32>)
// CHECK:     arith.cmpf olt
// CHECK:     arith.select
// CHECK:   tensor.insert_slice %[[XD]] into %[[X]][0, %[[D]]]
// CHECK:   linalg.generic {{.*}} ins(%[[XD]], %{{.*}} : tensor<?xf32>, tensor<3xf32>) outs(%[[A]] : tensor<?x3xf32>)
func.func @nade_sample(%u: tensor<?x6xf32>, %w: tensor<3x6xf32>, %c: tensor<3xf32>, %v: tensor<6x3xf32>, %b: tensor<6xf32>) -> tensor<?x6xf32> {
  %x = gm.ar_sample %u : tensor<?x6xf32> -> tensor<?x6xf32> {
  ^bb0(%p: tensor<?x6xf32>):
    %l = gm.nade %p, %w, %c, %v, %b : (tensor<?x6xf32>, tensor<3x6xf32>, tensor<3xf32>, tensor<6x3xf32>, tensor<6xf32>) -> tensor<?x6xf32>
    gm.yield %l : tensor<?x6xf32>
  }
  return %x : tensor<?x6xf32>
}

// -----

// Tests that any other region runs once per value: an scf.for over the
// 2 x 3 = 6 values of an example carrying the partial sample, the region
// inlined on it, and one generic over the sample that sets the element
// whose row-major index within its example is d from [u < sigmoid(logit)]
// and keeps the others.

// CHECK-LABEL: func.func @shifted
// CHECK-SAME: (%[[U:.*]]: tensor<?x2x3xf32>, %[[T:.*]]: tensor<?x2x3xf32>)
// CHECK: %[[C6:.*]] = arith.constant 6 : index
// CHECK: scf.for %[[D:.*]] = %{{.*}} to %[[C6]] step %{{.*}} iter_args(%[[X:.*]] = %{{.*}}) -> (tensor<?x2x3xf32>)
// CHECK:   %[[L:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[T]] : tensor<?x2x3xf32>, tensor<?x2x3xf32>)
// CHECK:   %[[NX:.*]] = linalg.generic {{.*}} ins(%[[L]], %[[U]] : tensor<?x2x3xf32>, tensor<?x2x3xf32>) outs(%[[X]] : tensor<?x2x3xf32>)
// CHECK:     linalg.index 1
// CHECK:     linalg.index 2
// CHECK:     %[[HERE:.*]] = arith.cmpi eq, %{{.*}}, %[[D]] : index
// CHECK:     arith.cmpf olt
// CHECK:     arith.select %[[HERE]]
// CHECK:   scf.yield %[[NX]] : tensor<?x2x3xf32>
func.func @shifted(%u: tensor<?x2x3xf32>, %t: tensor<?x2x3xf32>) -> tensor<?x2x3xf32> {
  %x = gm.ar_sample %u : tensor<?x2x3xf32> -> tensor<?x2x3xf32> {
  ^bb0(%p: tensor<?x2x3xf32>):
    %l = gm.add %p, %t : tensor<?x2x3xf32>
    gm.yield %l : tensor<?x2x3xf32>
  }
  return %x : tensor<?x2x3xf32>
}
