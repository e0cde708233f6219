// RUN: gm-opt %s --split-input-file --gm-expand-objectives | FileCheck %s

// Tests that a reparameterised normal sample becomes mu + exp(lv / 2) * eps
// with eps drawn at the same key and stream, that the Bernoulli log-density
// becomes x l - softplus(l) summed per example, and that the ELBO's KL
// becomes the closed form, weighted by beta.

gm.model @m {
  gm.data @x : tensor<?x2xf32> real
  gm.func @loss(%x: tensor<?x2xf32>, %k: !gm.key) -> tensor<f32> attributes {role = #gm.role<eval>, inputs = [@x]} {
    %q = gm.normal %x, %x logvar : tensor<?x2xf32> -> !gm.dist<normal, tensor<?x2xf32>>
    %z = gm.sample %q, %k stream 3 reparam : !gm.dist<normal, tensor<?x2xf32>> -> tensor<?x2xf32>
    %px = gm.bernoulli %z : tensor<?x2xf32> -> !gm.dist<bernoulli, tensor<?x2xf32>>
    %ll = gm.log_prob %px, %x : (!gm.dist<bernoulli, tensor<?x2xf32>>, tensor<?x2xf32>) -> tensor<?xf32>
    %p = gm.normal %z, %x scale : tensor<?x2xf32> -> !gm.dist<normal, tensor<?x2xf32>>
    %kl = gm.kl %q, %p analytic : (!gm.dist<normal, tensor<?x2xf32>>, !gm.dist<normal, tensor<?x2xf32>>) -> tensor<?xf32>
    %e = gm.elbo %ll, %kl {beta = 4.0 : f64} : tensor<?xf32>
    %m = gm.mean %e {axes = array<i64: 0>} : tensor<?xf32> -> tensor<f32>
    gm.return %m : tensor<f32>
  }
}

// CHECK-LABEL: gm.func @loss(
// CHECK-SAME: %[[X:.*]]: tensor<?x2xf32>, %[[K:.*]]: !gm.key)
// CHECK: %[[HALF:.*]] = gm.mul %{{.*}}, %[[X]]
// CHECK: %[[SIGMA:.*]] = gm.exp %[[HALF]]
// CHECK: %[[STD:.*]] = gm.normal %{{.*}}, %{{.*}} scale
// CHECK: %[[EPS:.*]] = gm.sample %[[STD]], %[[K]] stream 3 none
// CHECK: %[[SE:.*]] = gm.mul %[[SIGMA]], %[[EPS]]
// CHECK: %[[Z:.*]] = gm.add %[[X]], %[[SE]]
// CHECK: %[[XL:.*]] = gm.mul %[[X]], %[[Z]]
// CHECK: %[[SP:.*]] = gm.softplus %[[Z]]
// CHECK: %[[LP:.*]] = gm.sub %[[XL]], %[[SP]]
// CHECK: %[[LL:.*]] = gm.sum %[[LP]] {axes = array<i64: 1>}
// CHECK: %[[KL:.*]] = gm.sum %{{.*}} {axes = array<i64: 1>}
// CHECK: gm.constant dense<4.000000e+00>
// CHECK: %[[BK:.*]] = gm.mul %{{.*}}, %[[KL]]
// CHECK: gm.sub %[[LL]], %[[BK]]
// CHECK-NOT: gm.log_prob
// CHECK-NOT: gm.kl
// CHECK-NOT: gm.elbo
// CHECK-NOT: reparam

// -----

// Tests that a KL with no closed form becomes log q(z) - log p(z) at its
// sample, and that a mixture's log-density becomes, with x broadcast over
// the components (B, K, D), each component's log-density summed over D
// plus the log-weights, t (B, K), and its log-sum-exp written as sum_k
// softmax(t)_k (t_k - log_softmax(t)_k).

gm.model @mc {
  gm.data @x : tensor<?x2xf32> real
  gm.data @w : tensor<?x3xf32> real
  gm.data @mu : tensor<?x3x2xf32> real
  gm.func @loss(%x: tensor<?x2xf32>, %w: tensor<?x3xf32>, %mu: tensor<?x3x2xf32>, %k: !gm.key) -> tensor<f32> attributes {role = #gm.role<eval>, inputs = [@x, @w, @mu]} {
    %q = gm.uniform %x, %x : tensor<?x2xf32> -> !gm.dist<uniform, tensor<?x2xf32>>
    %p = gm.uniform %x, %x : tensor<?x2xf32> -> !gm.dist<uniform, tensor<?x2xf32>>
    %kl = gm.kl %q, %p, %x monte_carlo : (!gm.dist<uniform, tensor<?x2xf32>>, !gm.dist<uniform, tensor<?x2xf32>>, tensor<?x2xf32>) -> tensor<?xf32>
    %m = gm.mixture_normal %w, %mu, %mu : (tensor<?x3xf32>, tensor<?x3x2xf32>, tensor<?x3x2xf32>) -> !gm.dist<mixture_normal, tensor<?x2xf32>>
    %lm = gm.log_prob %m, %x : (!gm.dist<mixture_normal, tensor<?x2xf32>>, tensor<?x2xf32>) -> tensor<?xf32>
    %s = gm.add %kl, %lm : tensor<?xf32>
    %r = gm.mean %s {axes = array<i64: 0>} : tensor<?xf32> -> tensor<f32>
    gm.return %r : tensor<f32>
  }
}

// CHECK-LABEL: gm.func @loss
// CHECK-NOT: gm.kl
// CHECK: %[[LQ:.*]] = gm.sum
// CHECK: %[[LP:.*]] = gm.sum
// CHECK: %[[KL:.*]] = gm.sub %[[LQ]], %[[LP]] : tensor<?xf32>
// CHECK: %[[XR:.*]] = gm.reshape %{{.*}} : tensor<?x2xf32> -> tensor<?x1x2xf32>
// CHECK: %[[XK:.*]] = gm.broadcast %[[XR]][%{{.*}}] : tensor<?x1x2xf32> -> tensor<?x3x2xf32>
// CHECK: gm.sub %[[XK]], %{{.*}} : tensor<?x3x2xf32>
// CHECK: %[[COMP:.*]] = gm.sum %{{.*}} {axes = array<i64: 2>} : tensor<?x3x2xf32> -> tensor<?x3xf32>
// CHECK: %[[LW:.*]] = gm.log_softmax %{{.*}} {axis = 1 : i64} : tensor<?x3xf32>
// CHECK: %[[T:.*]] = gm.add %[[COMP]], %[[LW]] : tensor<?x3xf32>
// CHECK: %[[LS:.*]] = gm.log_softmax %[[T]] {axis = 1 : i64} : tensor<?x3xf32>
// CHECK: %[[P:.*]] = gm.exp %[[LS]]
// CHECK: %[[LSE:.*]] = gm.sub %[[T]], %[[LS]]
// CHECK: %[[W:.*]] = gm.mul %[[P]], %[[LSE]]
// CHECK: %[[LM:.*]] = gm.sum %[[W]] {axes = array<i64: 1>} : tensor<?x3xf32> -> tensor<?xf32>
// CHECK: gm.add %[[KL]], %[[LM]]
// CHECK-NOT: gm.log_prob

// -----

// Tests that a discretised logistic's log-density becomes, per value, with
// a = (x - mu + h) / s and b = (x - mu - h) / s (s = exp(log_scale), h =
// 1/510): (1 - e1) log_sigmoid(a) + (1 - e0) log_sigmoid(-b) + (1 - e0 -
// e1) log(1 - exp(-max(2h / s, 1e-6))), the end indicators e0 = relu(1 -
// 255 x) and e1 = relu(255 x - 254), summed per example.
gm.model @dl {
  gm.data @x : tensor<?x2xf32> real
  gm.data @mu : tensor<?x2xf32> real
  gm.data @ls : tensor<?x2xf32> real
  gm.func @loss(%x: tensor<?x2xf32>, %mu: tensor<?x2xf32>, %ls: tensor<?x2xf32>, %k: !gm.key) -> tensor<f32> attributes {role = #gm.role<eval>, inputs = [@x, @mu, @ls]} {
    %p = gm.discretized_logistic %mu, %ls levels 256 : tensor<?x2xf32> -> !gm.dist<discretized_logistic, tensor<?x2xf32>>
    %ll = gm.log_prob %p, %x : (!gm.dist<discretized_logistic, tensor<?x2xf32>>, tensor<?x2xf32>) -> tensor<?xf32>
    %m = gm.mean %ll {axes = array<i64: 0>} : tensor<?xf32> -> tensor<f32>
    gm.return %m : tensor<f32>
  }
}

// CHECK-LABEL: gm.func @loss(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x2xf32>, %[[MU:[^:]*]]: tensor<?x2xf32>, %[[LS:[^:]*]]: tensor<?x2xf32>
// CHECK: %[[NLS:.*]] = gm.neg %[[LS]]
// CHECK: %[[INV:.*]] = gm.exp %[[NLS]]
// CHECK: %[[C:.*]] = gm.sub %[[X]], %[[MU]]
// CHECK: gm.constant dense<0.00196078443>
// CHECK: %[[CH:.*]] = gm.add %[[C]], %{{.*}}
// CHECK: %[[A:.*]] = gm.mul %[[CH]], %[[INV]]
// CHECK: %[[CL:.*]] = gm.sub %[[C]], %{{.*}}
// CHECK: %[[B:.*]] = gm.mul %[[CL]], %[[INV]]
// CHECK: gm.constant dense<2.550000e+02>
// CHECK: %[[E0:.*]] = gm.relu
// CHECK: gm.constant dense<2.540000e+02>
// CHECK: %[[E1:.*]] = gm.relu
// CHECK: gm.constant dense<9.99999997E-7>
// CHECK: gm.constant dense<0.00392156886>
// CHECK: %[[GAP:.*]] = gm.mul %{{.*}}, %[[INV]]
// CHECK: gm.relu
// CHECK: %[[FLOOR:.*]] = gm.add
// CHECK: %[[NG:.*]] = gm.neg %[[FLOOR]]
// CHECK: %[[EG:.*]] = gm.exp %[[NG]]
// CHECK: %[[OM:.*]] = gm.sub %{{.*}}, %[[EG]]
// CHECK: %[[IN:.*]] = gm.log %[[OM]]
// CHECK: gm.sub %{{.*}}, %[[E1]]
// CHECK: gm.log_sigmoid %[[A]]
// CHECK: %[[NB:.*]] = gm.neg %[[B]]
// CHECK: gm.log_sigmoid %[[NB]]
// CHECK: gm.mul %{{.*}}, %[[IN]]
// CHECK: gm.sum %{{.*}} {axes = array<i64: 1>}
// CHECK-NOT: gm.log_prob
// CHECK-NOT: gm.discretized_logistic

// -----

// Tests that in a training loss an importance-weighted bound is unrolled
// into its k = 2 draws: reparameterised samples on streams s and s + 65536,
// each log-weight log p(x | z_j) + log p(z_j) - log q(z_j), folded by the
// pairwise log-sum-exp (a + b + |a - b|) / 2 + softplus(-|a - b|), minus
// log 2. No gm.iwae is left for autodiff to meet.
gm.model @iw {
  gm.data @x : tensor<?x2xf32> real
  gm.func @s.loss.all(%x: tensor<?x2xf32>, %key: !gm.key) -> tensor<f32> attributes {role = #gm.role<loss>, inputs = [@x], step = @s, player = #gm.player<all>, groups = []} {
    %q = gm.normal %x, %x logvar : tensor<?x2xf32> -> !gm.dist<normal, tensor<?x2xf32>>
    %zero = gm.sub %x, %x : tensor<?x2xf32>
    %p = gm.normal %zero, %zero logvar : tensor<?x2xf32> -> !gm.dist<normal, tensor<?x2xf32>>
    %b = gm.iwae %q, %p, %key stream 3 {k = 2 : i64} : !gm.dist<normal, tensor<?x2xf32>>, !gm.dist<normal, tensor<?x2xf32>> -> tensor<?xf32> {
    ^bb0(%z: tensor<?x2xf32>):
      %l = gm.sum %z {axes = array<i64: 1>} : tensor<?x2xf32> -> tensor<?xf32>
      gm.yield %l : tensor<?xf32>
    }
    %r = gm.mean %b {axes = array<i64: 0>} : tensor<?xf32> -> tensor<f32>
    gm.return %r : tensor<f32>
  }
}

// CHECK-LABEL: gm.func @s.loss.all(
// CHECK: gm.sample %{{.*}}, %{{.*}} stream 3 none
// CHECK: %[[Z0:.*]] = gm.add %arg0, %{{.*}} : tensor<?x2xf32>
// CHECK: %[[L0:.*]] = gm.sum %[[Z0]] {axes = array<i64: 1>}
// CHECK: %[[W0P:.*]] = gm.add %[[L0]], %{{.*}} : tensor<?xf32>
// CHECK: %[[W0:.*]] = gm.sub %[[W0P]], %{{.*}} : tensor<?xf32>
// CHECK: gm.sample %{{.*}}, %{{.*}} stream 65539 none
// CHECK: %[[Z1:.*]] = gm.add %arg0, %{{.*}} : tensor<?x2xf32>
// CHECK: %[[L1:.*]] = gm.sum %[[Z1]] {axes = array<i64: 1>}
// CHECK: %[[W1P:.*]] = gm.add %[[L1]], %{{.*}} : tensor<?xf32>
// CHECK: %[[W1:.*]] = gm.sub %[[W1P]], %{{.*}} : tensor<?xf32>
// CHECK: %[[D:.*]] = gm.sub %[[W0]], %[[W1]]
// CHECK: %[[GAP:.*]] = gm.abs %[[D]]
// CHECK: %[[S:.*]] = gm.add %[[W0]], %[[W1]]
// CHECK: %[[SG:.*]] = gm.add %[[S]], %[[GAP]]
// CHECK: %[[TOP:.*]] = gm.mul %{{.*}}, %[[SG]]
// CHECK: %[[NG:.*]] = gm.neg %[[GAP]]
// CHECK: %[[SP:.*]] = gm.softplus %[[NG]]
// CHECK: %[[LSE:.*]] = gm.add %[[TOP]], %[[SP]]
// CHECK: gm.constant dense<0.693147182>
// CHECK: gm.sub %[[LSE]], %{{.*}}
// CHECK-NOT: gm.iwae
