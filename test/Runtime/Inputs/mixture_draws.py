"""Checks that draws follow a diagonal Gaussian mixture.

    mixture_draws.py OUT LOGITS MEANS LOGVARS

OUT is `gmrun run --entry draw.<z> --print-param ...` output: "result 0:"
then the draws (n rows of d), and "param NAME:" then each parameter's
values: the mixture's logits [k], means [k, d] and log-variances [k, d].
Each dimension's sample mean and variance must be the mixture's within 5
standard errors (mean) and 20% (variance): a standard normal, or one
component, fails on the variance of a mixture whose means spread as the
AAE's (uniform in [-4, 4]). Prints one line when they do, exits 1 when not.
"""
import math, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "CodeGen", "Inputs"))
from close_runs import blocks  # noqa: E402


def main():
    path, logits, means, logvars = sys.argv[1:5]
    s = blocks(path)
    w = [math.exp(v) for v in s["param " + logits]]
    w = [v / sum(w) for v in w]
    k = len(w)
    mu, lv = s["param " + means], s["param " + logvars]
    d = len(mu) // k
    draws = s["result 0"]
    n = len(draws) // d
    for j in range(d):
        col = [draws[i * d + j] for i in range(n)]
        mean = sum(col) / n
        var = sum((v - mean) ** 2 for v in col) / (n - 1)
        want = sum(w[c] * mu[c * d + j] for c in range(k))
        want_var = sum(w[c] * (math.exp(lv[c * d + j]) + mu[c * d + j] ** 2)
                       for c in range(k)) - want ** 2
        if abs(mean - want) > 5 * math.sqrt(want_var / n) or abs(var / want_var - 1) > 0.2:
            sys.exit("dimension %d: mean %.3f and variance %.3f of %d draws; the mixture's: "
                     "%.3f and %.3f" % (j, mean, var, n, want, want_var))
    print("%d draws of %d dimensions follow the mixture" % (n, d))


if __name__ == "__main__":
    main()
