// RUN: gm-opt %s --split-input-file --convert-gm-to-linalg --reconcile-unrealized-casts | FileCheck %s

// Tests that a normal sample runs Philox4x32-10 (ten rounds of the
// multipliers 0xD2511F53 and 0xCD9E8D57) on the element's flat index and the
// key, Box-Muller on lanes 0 and 1 in f64, and mu + sigma eps in f32, sigma
// = exp(logvar / 2); the distribution op is gone.

// CHECK-LABEL: func.func @normal
// CHECK-SAME: (%[[MU:.*]]: tensor<?x3xf32>, %[[LV:.*]]: tensor<?x3xf32>, %[[K:.*]]: tensor<i64>)
// CHECK: %[[KEY:.*]] = tensor.extract %[[K]][] : tensor<i64>
// CHECK: linalg.generic {{.*}} ins(%[[MU]], %[[LV]] : tensor<?x3xf32>, tensor<?x3xf32>)
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK: %[[M0:.*]] = arith.constant 3528531795 : i64
// CHECK-COUNT-10: arith.muli %[[M0]],
// CHECK: math.log %{{.*}} : f64
// CHECK: math.cos %{{.*}} : f64
// CHECK: arith.truncf %{{.*}} : f64 to f32
// CHECK: math.exp
// CHECK-NOT: gm.
func.func @normal(%mu: tensor<?x3xf32>, %lv: tensor<?x3xf32>, %k: tensor<i64>) -> tensor<?x3xf32> {
  %key = builtin.unrealized_conversion_cast %k : tensor<i64> to !gm.key
  %d = gm.normal %mu, %lv logvar : tensor<?x3xf32> -> !gm.dist<normal, tensor<?x3xf32>>
  %z = gm.sample %d, %key stream 2 none : !gm.dist<normal, tensor<?x3xf32>> -> tensor<?x3xf32>
  return %z : tensor<?x3xf32>
}

// -----

// Tests that a Bernoulli sample is [u < sigmoid(logit)] with u from lane 2,
// both in f64.

// CHECK-LABEL: func.func @bernoulli
// CHECK: arith.constant 2.3283064365386963E-10 : f64
// CHECK: arith.extf %{{.*}} : f32 to f64
// CHECK: math.exp %{{.*}} : f64
// CHECK: %[[HIT:.*]] = arith.cmpf olt, %{{.*}}, %{{.*}} : f64
// CHECK: arith.uitofp %[[HIT]] : i1 to f32
func.func @bernoulli(%l: tensor<?x5xf32>, %k: tensor<i64>) -> tensor<?x5xf32> {
  %key = builtin.unrealized_conversion_cast %k : tensor<i64> to !gm.key
  %d = gm.bernoulli %l : tensor<?x5xf32> -> !gm.dist<bernoulli, tensor<?x5xf32>>
  %z = gm.sample %d, %key stream 0 none : !gm.dist<bernoulli, tensor<?x5xf32>> -> tensor<?x5xf32>
  return %z : tensor<?x5xf32>
}

// -----

// Tests that a categorical sample picks, per row, the class whose cumulative
// probability interval holds u (exclusive and inclusive prefix sums of the
// softmax).

// CHECK-LABEL: func.func @categorical
// CHECK: math.exp
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.cmpi ult
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.cmpi ule
// CHECK: arith.cmpf oge
// CHECK: arith.cmpf olt
func.func @categorical(%l: tensor<?x10xf32>, %k: tensor<i64>) -> tensor<?x10xf32> {
  %key = builtin.unrealized_conversion_cast %k : tensor<i64> to !gm.key
  %d = gm.categorical %l : tensor<?x10xf32> -> !gm.dist<categorical, tensor<?x10xf32>>
  %z = gm.sample %d, %key stream 1 none : !gm.dist<categorical, tensor<?x10xf32>> -> tensor<?x10xf32>
  return %z : tensor<?x10xf32>
}

// -----

// Tests that a mixture sample picks a component per row (lane 3 of counter
// n D), draws every dimension's normal at n D + j, and sums the picked
// component's mu + sigma eps over the components.

// CHECK-DAG: #[[SEL:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[COMP:.*]] = affine_map<(d0, d1, d2) -> (d0, d2, d1)>
// CHECK-LABEL: func.func @mixture
// CHECK: arith.constant 2 : i64
// CHECK: arith.muli
// CHECK: linalg.generic {indexing_maps = [#[[SEL]], #[[COMP]], #[[COMP]], #{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: arith.cmpf one
func.func @mixture(%w: tensor<?x3xf32>, %mu: tensor<?x3x2xf32>, %lv: tensor<?x3x2xf32>, %k: tensor<i64>) -> tensor<?x2xf32> {
  %key = builtin.unrealized_conversion_cast %k : tensor<i64> to !gm.key
  %d = gm.mixture_normal %w, %mu, %lv : (tensor<?x3xf32>, tensor<?x3x2xf32>, tensor<?x3x2xf32>) -> !gm.dist<mixture_normal, tensor<?x2xf32>>
  %z = gm.sample %d, %key stream 0 none : !gm.dist<mixture_normal, tensor<?x2xf32>> -> tensor<?x2xf32>
  return %z : tensor<?x2xf32>
}

// -----

// Tests that an importance-weighted bound is an scf.for over its run-time
// number of draws, the region lowered inside the loop, keeping a running
// maximum and sum per example, and log(s) + m - log k at the end.

// CHECK-LABEL: func.func @iwae
// CHECK-SAME: %[[DRAWS:[^:]*]]: tensor<f32>
// CHECK: %[[K:.*]] = tensor.extract %[[DRAWS]][] : tensor<f32>
// CHECK: %[[KI:.*]] = arith.fptosi %[[K]] : f32 to i64
// CHECK: %[[R:.*]]:2 = scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<?xf32>, tensor<?xf32>)
// CHECK: math.cos
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK: scf.yield
// CHECK: %[[LK:.*]] = math.log %[[K]] : f32
// CHECK: linalg.generic {{.*}} ins(%[[R]]#0, %[[R]]#1 : tensor<?xf32>, tensor<?xf32>)
// CHECK: arith.subf %{{.*}}, %[[LK]]
func.func @iwae(%mu: tensor<?x2xf32>, %lv: tensor<?x2xf32>, %k: tensor<i64>, %draws: tensor<f32>) -> tensor<?xf32> {
  %key = builtin.unrealized_conversion_cast %k : tensor<i64> to !gm.key
  %q = gm.normal %mu, %lv logvar : tensor<?x2xf32> -> !gm.dist<normal, tensor<?x2xf32>>
  %b = gm.iwae %q, %q, %key stream 3 draws %draws {k = 10 : i64, log_weight} : !gm.dist<normal, tensor<?x2xf32>>, !gm.dist<normal, tensor<?x2xf32>> -> tensor<?xf32> {
  ^bb0(%z: tensor<?x2xf32>):
    %s = gm.sum %z {axes = array<i64: 1>} : tensor<?x2xf32> -> tensor<?xf32>
    gm.yield %s : tensor<?xf32>
  }
  return %b : tensor<?xf32>
}
