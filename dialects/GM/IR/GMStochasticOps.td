//===- GMStochasticOps.td - distributions, samples, densities -*- tablegen -*-===//
//
// The probabilistic half of the gm dialect, included by GMOps.td: stochastic
// nodes (distributions and samples, autoregressive sampling) and densities
// and divergences (log_prob, kl, elbo, iwae, the adversarial value, mutual
// information). Same shape legend as GMOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef GM_STOCHASTIC_OPS_TD
#define GM_STOCHASTIC_OPS_TD

//===----------------------------------------------------------------------===//
// Stochastic nodes
//===----------------------------------------------------------------------===//

def GM_NormalOp : GM_Op<"normal", [Pure, AllTypesMatch<["loc", "spread"]>]> {
  let summary = "a diagonal Gaussian";
  let description = [{
    Mean `loc`; `spread` is the standard deviation (`scale`) or the log of
    the variance (`logvar`, what VAE encoders output). Both have the sample
    type of the result.

    ```mlir
    %q = gm.normal %mu, %lv logvar : tensor<?x20xf32> -> !gm.dist<normal, tensor<?x20xf32>>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$loc, GM_F32Tensor:$spread,
                       GM_NormalParamAttr:$param);
  let results = (outs GM_Dist:$result);
  let assemblyFormat = [{
    $loc `,` $spread $param attr-dict `:` type($loc) `->` type($result)
  }];
  let hasVerifier = 1;
}

def GM_BernoulliOp : GM_Op<"bernoulli", [Pure]> {
  let summary = "independent Bernoulli variables given by their logits";
  let description = [{
    Log-probabilities are computed from the logits (stable for large |logit|);
    targets may be intensities in [0, 1].

    ```mlir
    %p = gm.bernoulli %logits : tensor<?x784xf32> -> !gm.dist<bernoulli, tensor<?x784xf32>>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$logits);
  let results = (outs GM_Dist:$result);
  let assemblyFormat = "$logits attr-dict `:` type($logits) `->` type($result)";
  let hasVerifier = 1;
}

def GM_CategoricalOp : GM_Op<"categorical", [Pure]> {
  let summary = "a categorical over the last axis, given by logits";
  let description = [{
    Samples and values are one-hot vectors over the last axis.

    ```mlir
    %c = gm.categorical %logits : tensor<?x10xf32> -> !gm.dist<categorical, tensor<?x10xf32>>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$logits);
  let results = (outs GM_Dist:$result);
  let assemblyFormat = "$logits attr-dict `:` type($logits) `->` type($result)";
  let hasVerifier = 1;
}

def GM_UniformOp : GM_Op<"uniform", [Pure, AllTypesMatch<["low", "high"]>]> {
  let summary = "independent uniforms on [low, high)";
  let description = [{
    ```mlir
    %u = gm.uniform %lo, %hi : tensor<?x2xf32> -> !gm.dist<uniform, tensor<?x2xf32>>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$low, GM_F32Tensor:$high);
  let results = (outs GM_Dist:$result);
  let assemblyFormat = "$low `,` $high attr-dict `:` type($low) `->` type($result)";
  let hasVerifier = 1;
}

def GM_MixtureNormalOp : GM_Op<"mixture_normal", [Pure]> {
  let summary = "a mixture of K diagonal Gaussians";
  let description = [{
    logits (B, K) weight the components; means and logvars are (B, K, D);
    samples are (B, D).

    ```mlir
    %m = gm.mixture_normal %w, %mu, %lv : (tensor<?x10xf32>, tensor<?x10x2xf32>,
        tensor<?x10x2xf32>) -> !gm.dist<mixture_normal, tensor<?x2xf32>>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$logits, GM_F32Tensor:$means,
                       GM_F32Tensor:$logvars);
  let results = (outs GM_Dist:$result);
  let assemblyFormat = "$logits `,` $means `,` $logvars attr-dict `:` functional-type(operands, $result)";
  let hasVerifier = 1;
}

def GM_DiscretizedLogisticOp : GM_Op<"discretized_logistic",
    [Pure, AllTypesMatch<["loc", "log_scale"]>]> {
  let summary = "a logistic rounded to `levels` evenly spaced values in [0, 1]";
  let description = [{
    Independent values on the grid k / (levels - 1), k = 0 .. levels - 1
    (8-bit pixels scaled to [0, 1] with the default 256). Value x gets the
    mass of a logistic(loc, exp(log_scale)) on [x - h, x + h), h = 1 /
    (2 (levels - 1)); the two end values also take the tails below 0 and
    above 1 (PixelCNN++, Salimans et al. 2017). A sample rounds a
    continuous logistic draw to the grid and clamps it into [0, 1].

    ```mlir
    %p = gm.discretized_logistic %mu, %ls levels 256 : tensor<?x784xf32>
        -> !gm.dist<discretized_logistic, tensor<?x784xf32>>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$loc, GM_F32Tensor:$log_scale,
                       ConfinedAttr<I64Attr, [IntMinValue<2>]>:$levels);
  let results = (outs GM_Dist:$result);
  let assemblyFormat = [{
    $loc `,` $log_scale `levels` $levels attr-dict `:` type($loc) `->` type($result)
  }];
  let hasVerifier = 1;
}

def GM_SampleOp : GM_Op<"sample", [Pure]> {
  let summary = "draw one sample per example from a distribution";
  let description = [{
    Draws from `dist` with the counter-based generator at (`key`, `stream`):
    the same key and stream give the same sample. `reparam` (normal,
    uniform) writes the sample as a differentiable function of the
    distribution's parameters and parameter-free noise (z = mu + sigma * eps);
    `score_function` asks the autodiff pass for a REINFORCE surrogate; `none`
    draws a constant sample (no gradient to the distribution).

    ```mlir
    %z = gm.sample %q, %key stream 0 reparam : !gm.dist<normal, tensor<?x20xf32>> -> tensor<?x20xf32>
    ```
  }];
  let arguments = (ins GM_Dist:$dist, GM_KeyType:$key,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$stream,
                       GM_EstimatorAttr:$estimator);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = [{
    $dist `,` $key `stream` $stream $estimator attr-dict `:` type($dist) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Densities and divergences
//===----------------------------------------------------------------------===//

def GM_LogProbOp : GM_Op<"log_prob", [Pure]> {
  let summary = "per-example log-density of a value";
  let description = [{
    log p(value), summed over all but the batch axis. For an autoregressive
    model whose logits come from masked layers this is the exact
    log-likelihood.

    ```mlir
    %ll = gm.log_prob %px, %x : (!gm.dist<bernoulli, tensor<?x784xf32>>, tensor<?x784xf32>) -> tensor<?xf32>
    ```
  }];
  let arguments = (ins GM_Dist:$dist, GM_F32Tensor:$value);
  let results = (outs GM_PerExample:$result);
  let assemblyFormat = "$dist `,` $value attr-dict `:` functional-type(operands, $result)";
  let hasVerifier = 1;
}

def GM_KLOp : GM_Op<"kl", [Pure]> {
  let summary = "per-example KL(q || p)";
  let description = [{
    `analytic` has closed forms for normal||normal, bernoulli||bernoulli and
    categorical||categorical. `monte_carlo` estimates log q(z) - log p(z) at
    the given sample z ~ q. The two distributions must have one sample type,
    and q's support must lie inside p's (no KL from a continuous to a
    discrete distribution, nor from a normal to a uniform).

    ```mlir
    %kl = gm.kl %q, %p analytic : (!gm.dist<normal, tensor<?x20xf32>>, !gm.dist<normal, tensor<?x20xf32>>) -> tensor<?xf32>
    %mc = gm.kl %q, %m, %z monte_carlo : (!gm.dist<normal, tensor<?x2xf32>>,
        !gm.dist<mixture_normal, tensor<?x2xf32>>, tensor<?x2xf32>) -> tensor<?xf32>
    ```
  }];
  let arguments = (ins GM_Dist:$q, GM_Dist:$p, Optional<GM_F32Tensor>:$sample,
                       GM_KLMethodAttr:$method);
  let results = (outs GM_PerExample:$result);
  let assemblyFormat = [{
    $q `,` $p (`,` $sample^)? $method attr-dict `:` functional-type(operands, $result)
  }];
  let hasVerifier = 1;
}

def GM_ElboOp : GM_Op<"elbo", [Pure, AllTypesMatch<["loglik", "kl", "result"]>]> {
  let summary = "per-example evidence lower bound loglik - beta * kl";
  let description = [{
    `beta = 1` is the VAE; `beta > 1` the beta-VAE. The objective expansion
    pass rewrites it into its terms.

    ```mlir
    %e = gm.elbo %ll, %kl {beta = 1.000000e+00 : f64} : tensor<?xf32>
    ```
  }];
  let arguments = (ins GM_PerExample:$loglik, GM_PerExample:$kl,
                       F64Attr:$beta);
  let results = (outs GM_PerExample:$result);
  let assemblyFormat = "$loglik `,` $kl attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def GM_IwaeOp : GM_Op<"iwae", [SingleBlock,
    RecursiveMemoryEffects]> {
  let summary = "per-example importance-weighted bound with k samples";
  let description = [{
    log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i), z_i ~ q, i = 1..k. The region
    computes log p(x | z) for the sample in its block argument; it may use
    values from the enclosing function. With `log_weight` (set by
    gm-expand-objectives) the region yields the whole log-weight
    log p(x | z) + log p(z) - log q(z | x) instead. `draws`, when present,
    is the number of draws at run time (an entry point's argument: gm-to-abi
    adds it), and `k` its default.

    ```mlir
    %b = gm.iwae %q, %p, %key stream 1 {k = 100 : i64} : !gm.dist<normal, tensor<?x20xf32>>,
        !gm.dist<normal, tensor<?x20xf32>> -> tensor<?xf32> {
    ^bb0(%z: tensor<?x20xf32>):
      ...
      gm.yield %ll : tensor<?xf32>
    }
    ```
  }];
  let arguments = (ins GM_Dist:$q, GM_Dist:$p, GM_KeyType:$key,
                       Optional<GM_Scalar>:$draws,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$stream,
                       ConfinedAttr<I64Attr, [IntPositive]>:$k,
                       UnitAttr:$log_weight);
  let results = (outs GM_PerExample:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $q `,` $p `,` $key `stream` $stream (`draws` $draws^)? attr-dict `:` type($q) `,` type($p) `->` type($result) $body
  }];
  let hasVerifier = 1;
}

def GM_ArSampleOp : GM_Op<"ar_sample", [SingleBlock, RecursiveMemoryEffects]> {
  let summary = "an exact sample of an autoregressive model, value by value";
  let description = [{
    Ancestral sampling: starting from x = 0, for each d = 0 .. D-1 in the
    row-major order of an example's values, the region maps the partial
    sample x to the parameters of p(x_d | x_<d) for every d, and x_d is
    drawn from them with the uniform u_d:
    - Bernoulli (no `levels`): the region yields logits and
      x_d = [u_d < sigmoid(logits_d)];
    - discretised logistic (`levels` L): the region yields loc and
      log_scale, and x_d = clamp(round((loc_d + exp(log_scale_d)
      logit(u_d)) (L - 1)), 0, L - 1) / (L - 1), the inverse-CDF draw of
      gm.discretized_logistic.
    The result is an exact sample when parameter d reads only x_<d (NADE,
    masked layers, a shifted previous pixel) or nothing of x (independent
    pixels). `uniforms` are draws in (0, 1) of x's shape, which the caller
    makes: the op is a deterministic function of them. A Bernoulli region
    that is one gm.nade of its argument lowers to NADE's own O(DH)
    recurrence; any other runs D times.

    ```mlir
    %x = gm.ar_sample %u : tensor<?x784xf32> -> tensor<?x784xf32> {
    ^bb0(%x: tensor<?x784xf32>):
      %l = gm.nade %x, %W, %c, %V, %b : ...
      gm.yield %l : tensor<?x784xf32>
    }
    ```
  }];
  let arguments = (ins GM_F32Tensor:$uniforms,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntMinValue<2>]>>:$levels);
  let results = (outs GM_F32Tensor:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $uniforms (`levels` $levels^)? attr-dict `:` type($uniforms) `->` type($result) $body
  }];
  let hasVerifier = 1;
}

def GM_YieldOp : GM_Op<"yield", [Pure, Terminator, ParentOneOf<["IwaeOp", "ArSampleOp"]>]> {
  let summary = "yields a gm.iwae region's log p(x | z), a gm.ar_sample region's parameters";
  let description = [{
    ```mlir
    gm.yield %ll : tensor<?xf32>
    gm.yield %loc, %log_scale : tensor<?x784xf32>, tensor<?x784xf32>
    ```
  }];
  let arguments = (ins Variadic<GM_F32Tensor>:$values);
  let assemblyFormat = "$values attr-dict `:` type($values)";
}

def GM_AdversarialOp : GM_Op<"adversarial", [Pure]> {
  let summary = "the GAN value of discriminator logits on real and fake data";
  let description = [{
    V = mean log D(real) + mean log(1 - D(fake)), with D = sigmoid(logits),
    computed stably from logits. The discriminator maximises it; how the
    generator plays is said by the enclosing `gm.minimax`. Logits are (B) or
    (B, 1).

    ```mlir
    %v = gm.adversarial %real, %fake : tensor<?x1xf32>, tensor<?x1xf32> -> tensor<f32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$real, GM_F32Tensor:$fake);
  let results = (outs GM_Scalar:$result);
  let assemblyFormat = [{
    $real `,` $fake attr-dict `:` type($real) `,` type($fake) `->` type($result)
  }];
  let hasVerifier = 1;
}

def GM_MutualInfoOp : GM_Op<"mutual_info", [Pure]> {
  let summary = "per-example variational lower bound on I(c; x)";
  let description = [{
    InfoGAN's term: log Q(c | x) - log p(c) at the code c that generated x,
    where `posterior` is Q(c | x) and `prior` is p(c); its mean is a lower
    bound on the mutual information I(c; G(z, c)).

    ```mlir
    %mi = gm.mutual_info %qc, %c, %pc : (!gm.dist<categorical, tensor<?x10xf32>>, tensor<?x10xf32>,
        !gm.dist<categorical, tensor<?x10xf32>>) -> tensor<?xf32>
    ```
  }];
  let arguments = (ins GM_Dist:$posterior, GM_F32Tensor:$code, GM_Dist:$prior);
  let results = (outs GM_PerExample:$result);
  let assemblyFormat = [{
    $posterior `,` $code `,` $prior attr-dict `:` functional-type(operands, $result)
  }];
  let hasVerifier = 1;
}

#endif // GM_STOCHASTIC_OPS_TD
