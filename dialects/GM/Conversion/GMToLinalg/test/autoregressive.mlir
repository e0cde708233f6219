// RUN: gm-opt %s --split-input-file --convert-gm-to-linalg | FileCheck %s

// Tests that gm.nade is one loop over the D = 6 conditionals carrying the
// (B, H) pre-activation a, the logits and the next logit column: W
// transposed once, a_0 = c and logit_0 = b_0 + sigmoid(a_0) . V[0] before
// the loop; per step the column written out, then ONE pass over a that
// updates it in place (a += x_d W[:, d]) and reduces the next column
// (b_{d+1} + sigmoid(a) . V[d+1], d + 1 capped at D - 1) into the carried
// column's own buffer. No (B, D, H) tensor appears.

// CHECK-LABEL: func.func @nade
// CHECK-SAME: (%[[X:.*]]: tensor<?x6xf32>, %[[W:.*]]: tensor<3x6xf32>, %[[C:.*]]: tensor<3xf32>, %[[V:.*]]: tensor<6x3xf32>, %[[B:.*]]: tensor<6xf32>)
// CHECK-NOT: tensor<?x6x3xf32>
// CHECK: %[[WT:.*]] = linalg.transpose ins(%[[W]] : tensor<3x6xf32>) outs({{.*}} : tensor<6x3xf32>) permutation = [1, 0]
// CHECK: %[[A0:.*]] = linalg.generic {{.*}} ins(%[[C]] : tensor<3xf32>) outs({{.*}} : tensor<?x3xf32>)
// CHECK: %[[L0:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[A0]], %{{.*}} : tensor<?x3xf32>, tensor<3xf32>) outs(%{{.*}} : tensor<?xf32>)
// CHECK:   math.tanh
// CHECK:   arith.addf %{{.*}}, %{{.*}} fastmath<reassoc> : f32
// CHECK: %[[C6:.*]] = arith.constant 6 : index
// CHECK: %[[LOOP:.*]]:3 = scf.for %[[D:.*]] = %{{.*}} to %[[C6]] step %{{.*}} iter_args(%[[A:.*]] = %[[A0]], %[[L:.*]] = %{{.*}}, %[[COL:.*]] = %[[L0]]) -> (tensor<?x3xf32>, tensor<?x6xf32>, tensor<?xf32>)
// CHECK:   %[[XD:.*]] = tensor.extract_slice %[[X]][0, %[[D]]] [%{{.*}}, 1] [1, 1] : tensor<?x6xf32> to tensor<?xf32>
// CHECK:   %[[NL:.*]] = tensor.insert_slice %[[COL]] into %[[L]][0, %[[D]]] [%{{.*}}, 1] [1, 1] : tensor<?xf32> into tensor<?x6xf32>
// CHECK:   %[[DN:.*]] = arith.minsi
// CHECK:   %[[WD:.*]] = tensor.extract_slice %[[WT]][%[[D]], 0] [1, 3] [1, 1] : tensor<6x3xf32> to tensor<3xf32>
// CHECK:   %[[VN:.*]] = tensor.extract_slice %[[V]][%[[DN]], 0] [1, 3] [1, 1] : tensor<6x3xf32> to tensor<3xf32>
// CHECK:   %[[BN:.*]] = tensor.extract %[[B]][%[[DN]]] : tensor<6xf32>
// CHECK:   %[[INIT:.*]] = linalg.fill ins(%[[BN]] : f32) outs(%[[COL]] : tensor<?xf32>)
// CHECK:   %[[STEP:.*]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[XD]], %[[WD]], %[[VN]] : tensor<?xf32>, tensor<3xf32>, tensor<3xf32>) outs(%[[A]], %[[INIT]] : tensor<?x3xf32>, tensor<?xf32>)
// CHECK:     math.tanh
// CHECK:   scf.yield %[[STEP]]#0, %[[NL]], %[[STEP]]#1 : tensor<?x3xf32>, tensor<?x6xf32>, tensor<?xf32>
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
// CHECK:     math.tanh
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
// per step x_d = [u_d < sigmoid(logit_d)] from the carried column, written
// into the sample, and x_d (not the data) feeding a += x_d W[:, d] in the
// pass that reduces the next column. The region is not run.

// CHECK-LABEL: func.func @nade_sample
// CHECK-SAME: (%[[U:.*]]: tensor<?x6xf32>, %[[W:.*]]: tensor<3x6xf32>
// CHECK-NOT: gm.
// CHECK: %[[WT:.*]] = linalg.transpose ins(%[[W]]
// CHECK: scf.for %[[D:.*]] = {{.*}} iter_args(%[[A:.*]] = %{{.*}}, %[[X:.*]] = %{{.*}}, %[[COL:.*]] = %{{.*}})
// CHECK:   %[[UD:.*]] = tensor.extract_slice %[[U]][0, %[[D]]] [%{{.*}}, 1] [1, 1]
// CHECK:   %[[XD:.*]] = linalg.generic {{.*}} ins(%[[COL]], %[[UD]] : tensor<?xf32>, tensor<?xf32>)
// CHECK:     arith.cmpf olt
// CHECK:     arith.select
// CHECK:   tensor.insert_slice %[[XD]] into %[[X]][0, %[[D]]]
// CHECK:   linalg.generic {{.*}} ins(%[[XD]], %{{.*}}, %{{.*}} : tensor<?xf32>, tensor<3xf32>, tensor<3xf32>) outs(%[[A]], %{{.*}} : tensor<?x3xf32>, tensor<?xf32>)
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
