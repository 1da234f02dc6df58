"""Reproduce FINDINGS.md: numpy formulas vs iNNvestigate 2.1.2's LRP analysers.

Run with the TensorFlow venv (see FINDINGS.md):

    /work/tfenv/bin/python campaigns/innvestigate/measure.py            # everything
    /work/tfenv/bin/python campaigns/innvestigate/measure.py --nets 20  # quicker
    /work/tfenv/bin/python campaigns/innvestigate/measure.py --nets 0 --skip-probes --against-project 40

Prints (1) hand-made probes, each with iNNvestigate's value and the formula's, (2) measured
constants (start relevance, stabilisers), (3) the agreement over random networks for the
formula of each analyser and for rejected alternative hypotheses, (4) conservation on nets
with zero biases.
"""

# ruff: noqa: E501
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets as T  # noqa: N812

EPS_SAFE = 1e-7  # backend/__init__.py:28  _EPS = kbackend.epsilon();  safe_divide factor
EPS_RULE = 1e-7  # relevance_analyzer.py:575  LRPEpsilon(..., epsilon=1e-7, ...)


# ---------------------------------------------------------------- numpy formulas
def pos(v):
    return v * (v > 0)


def neg(v):
    return v * (v < 0)


def safe(z):
    """iNNvestigate's safe_divide denominator: z, with exact zeros replaced by 1e-7."""
    return z + EPS_SAFE * (z == 0)


def rule_z(a, W, b, R, *, bias=True):
    # R_i = sum_j a_i w_ij / safe(z_j) R_j,  z_j = sum_i a_i w_ij (+ b_j)
    z = a @ W + (b if bias else 0)
    return a * ((R / safe(z)) @ W.T)


def rule_epsilon(a, W, b, R, *, eps=EPS_RULE, bias=True):
    # R_i = sum_j a_i w_ij / (z_j + eps*s(z_j)) R_j,  s(z)=+1 if z>=0 else -1
    z = a @ W + (b if bias else 0)
    return a * ((R / (z + eps * np.where(z >= 0, 1.0, -1.0))) @ W.T)


def rule_alpha_beta(a, W, b, R, *, alpha, beta, bias, bias_mode="whole", split="product"):
    """P_ij = a_i w_ij if a_i w_ij > 0 (else 0), N_ij = a_i w_ij if < 0 (else 0);
    P_j = sum_i P_ij + c_j^+, N_j = sum_i N_ij + c_j^-, where for iNNvestigate
    (bias_mode="whole") c^+ = c^- = b_j (with bias) or 0 (IB);
    R_i = sum_j (alpha P_ij / safe(P_j) - beta N_ij / safe(N_j)) R_j.

    Alternatives (to be rejected by measurement): bias_mode="split" (c^+ = b^+, c^- = b^-),
    "none" (c = 0); split="weight" (P_ij = a_i w_ij^+, N_ij = a_i w_ij^-, by weight sign only).
    """
    if split == "product":
        ap, an = pos(a), neg(a)
        Pij = ap[:, :, None] * pos(W)[None] + an[:, :, None] * neg(W)[None]
        Nij = ap[:, :, None] * neg(W)[None] + an[:, :, None] * pos(W)[None]
    else:
        Pij = a[:, :, None] * pos(W)[None]
        Nij = a[:, :, None] * neg(W)[None]
    if not bias or bias_mode == "none":
        cp = cn = 0.0
    elif bias_mode == "whole":
        cp = cn = b
    elif bias_mode == "split":
        cp, cn = pos(b), neg(b)
    else:
        raise ValueError(bias_mode)
    Pj = Pij.sum(1) + cp
    Nj = Nij.sum(1) + cn
    out = alpha * np.einsum("nij,nj->ni", Pij, R / safe(Pj))
    if beta:
        out = out - beta * np.einsum("nij,nj->ni", Nij, R / safe(Nj))
    return out


def rule_z_plus_fast(a, W, b, R):
    # R_i = sum_j a_i w_ij^+ / safe(sum_i a_i w_ij^+) R_j   (all a_i, bias ignored)
    Wp = pos(W)
    z = a @ Wp
    return a * ((R / safe(z)) @ Wp.T)


def explain(rule, weights, biases, x, classes, *, start="logit"):
    acts = [np.asarray(x, dtype=np.float64)]
    for k, (W, b) in enumerate(zip(weights, biases, strict=True)):
        z = acts[-1] @ W + b
        acts.append(z if k == len(weights) - 1 else np.maximum(z, 0))
    logits = acts[-1]
    n = logits.shape[0]
    R = np.zeros_like(logits)
    rows = np.arange(n)
    R[rows, classes] = logits[rows, classes] if start == "logit" else 1.0
    for k in range(len(weights) - 1, -1, -1):
        R = rule(acts[k], weights[k], biases[k], R)
    return R


def ab(alpha, beta, bias, **kw):
    return lambda a, W, b, R: rule_alpha_beta(a, W, b, R, alpha=alpha, beta=beta, bias=bias, **kw)


FORMULAS = {
    "lrp.z": lambda a, W, b, R: rule_z(a, W, b, R, bias=True),
    "lrp.epsilon": lambda a, W, b, R: rule_epsilon(a, W, b, R, bias=True),
    "lrp.z_plus": ab(1, 0, False),
    "lrp.z_plus_fast": rule_z_plus_fast,
    "lrp.alpha_1_beta_0": ab(1, 0, True),
    "lrp.alpha_1_beta_0_IB": ab(1, 0, False),
    "lrp.alpha_2_beta_1": ab(2, 1, True),
    "lrp.alpha_2_beta_1_IB": ab(2, 1, False),
    "lrp.epsilon(bias=False)": lambda a, W, b, R: rule_epsilon(a, W, b, R, bias=False),
    "lrp(rule=ZRule(bias=False))": lambda a, W, b, R: rule_z(a, W, b, R, bias=False),
}

ALTERNATIVES = {
    # name of the analyser -> {hypothesis label: rule}
    "lrp.z": {
        "bias ignored in denominator": lambda a, W, b, R: rule_z(a, W, b, R, bias=False),
        "start relevance 1 (not logit)": ("start1", FORMULAS["lrp.z"]),
    },
    "lrp.epsilon": {
        "epsilon 1e-9": lambda a, W, b, R: rule_epsilon(a, W, b, R, eps=1e-9),
        "bias ignored": lambda a, W, b, R: rule_epsilon(a, W, b, R, bias=False),
    },
    "lrp.alpha_1_beta_0": {
        "bias split b+ / b-": ab(1, 0, True, bias_mode="split"),
        "bias ignored": ab(1, 0, False),
        "split by weight sign only": ab(1, 0, True, split="weight"),
    },
    "lrp.alpha_2_beta_1": {
        "bias split b+ / b-": ab(2, 1, True, bias_mode="split"),
        "bias ignored": ab(2, 1, False),
        "split by weight sign only": ab(2, 1, True, split="weight"),
    },
    "lrp.alpha_2_beta_1_IB": {
        "split by weight sign only": ab(2, 1, False, split="weight"),
    },
    "lrp.z_plus": {
        "= z_plus_fast (weight sign, all inputs)": rule_z_plus_fast,
    },
    "lrp.z_plus_fast": {
        "= z_plus (product sign)": ab(1, 0, False),
    },
}


def all_targets():
    return {**T.TARGETS, **T.EXTRA_TARGETS}


def reference(name_or_rule, weights, biases, x, classes):
    rule = FORMULAS[name_or_rule] if isinstance(name_or_rule, str) else name_or_rule
    start = "logit"
    if isinstance(rule, tuple):
        start, rule = ("one" if rule[0] == "start1" else "logit"), rule[1]
    return explain(rule, weights, biases, x, classes, start=start)


def rel_diff(got, want):
    scale = max(np.max(np.abs(want)), np.max(np.abs(got)), 1e-300)
    return float(np.max(np.abs(got - want)) / scale)


# ---------------------------------------------------------------- hand-made probes
def A(*rows):
    return np.array(rows, dtype=np.float64)


def V(*values):
    return np.array(values, dtype=np.float64)


PROBES = [
    # (label, weights, biases, x, classes)
    (
        "1 layer, mixed-sign inputs, +/- bias",
        [A([2.0, -1.0], [0.5, 3.0])],
        [V(0.3, -0.2)],
        A([1.0, 2.0], [-1.0, 0.5]),
        [0, 1],
    ),
    (
        "1 layer, mixed contributions, negative bias (bias placement)",
        [A([2.0], [-1.0])],
        [V(-0.5)],
        A([1.0, 0.5]),
        [0],
    ),
    (
        "1 layer, mixed contributions, positive bias (bias placement)",
        [A([2.0], [-1.0])],
        [V(0.7)],
        A([1.0, 0.5]),
        [0],
    ),
    (
        "1 layer, negative input * negative weight (product vs weight sign)",
        [A([-2.0], [1.0])],
        [V(0.0)],
        A([-1.0, 0.5]),
        [0],
    ),
    (
        "zero logit (z = 0), no bias",
        [A([1.0], [-1.0])],
        [V(0.0)],
        A([1.0, 1.0]),
        [0],
    ),
    (
        "alpha-beta activator denominator P_j + b_j = 0 with R_j != 0",
        [A([1.0], [-0.5])],
        [V(-1.0)],
        A([1.0, 1.0]),
        [0],
    ),
    (
        "bias-free denominator exactly 0, logit = b = 0.5 (IB / z_plus_fast zero division)",
        [A([1.0], [1.0])],
        [V(0.5)],
        A([1.0, -1.0]),
        [0],
    ),
    (
        "unit with no negative contributions, zero bias (alpha2beta1 inhibitor empty)",
        [A([1.0], [2.0])],
        [V(0.0)],
        A([1.0, 0.5]),
        [0],
    ),
    (
        "2 layers, negative inputs, a dead hidden unit and an all-positive hidden unit",
        [A([1.0, -1.0, 0.5], [-2.0, 0.5, 1.0]), A([1.0, -1.0], [2.0, 0.5], [-1.0, 1.0])],
        [V(0.1, -0.3, 0.2), V(0.2, -0.1)],
        A([-1.0, 0.5], [0.7, -0.2]),
        [0, 1],
    ),
    (
        "3 layers, negative inputs, negative biases",
        [A([1.0, -2.0], [0.5, 1.5]), A([1.0, 0.3], [-0.7, 2.0]), A([1.5], [-0.5])],
        [V(-0.2, 0.4), V(0.1, -0.6), V(0.3)],
        A([-0.8, 1.1], [1.2, 0.4]),
        [0, 0],
    ),
]


def run_probes():
    print("=" * 100)
    print("HAND-MADE PROBES  (iNNvestigate row / formula row; max|diff|)")
    tg = all_targets()
    worst = {}
    for label, W, B, x, c in PROBES:
        print("-" * 100)
        print(label)
        for name, fn in tg.items():
            got = fn(W, B, x, c)
            want = reference(name, W, B, x, c)
            d = float(np.max(np.abs(got - want)))
            worst[name] = max(worst.get(name, 0.0), rel_diff(got, want))
            print(f"  {name:30s} inn={np.array2string(got, precision=9, separator=',')}")
            print(f"  {'':30s} ref={np.array2string(want, precision=9, separator=',')}  d={d:.2e}")
    print("-" * 100)
    for name, v in worst.items():
        print(f"  probes: max normwise rel diff {name:30s} {v:.2e}")


def run_constants():
    print("=" * 100)
    print("MEASURED CONSTANTS")
    one_w, zero_b = [A([1.0])], [V(0.0)]
    for xv in (3.0, -3.0):
        r = T.analyse("lrp.z", [A([1.0])], [V(0.0)], A([xv]), [0])[0, 0]
        print(f"  start relevance: 1-layer z = x = {xv}: lrp.z gives R = {r!r} (logit, not 1)")
    r = T.analyse("lrp.epsilon", one_w, zero_b, A([1.0]), [0])[0, 0]
    print(f"  lrp.epsilon default eps: z=1 gives R = 1/(1+eps) = {r!r} -> eps = {1 / r - 1:.6e}")
    r = T.analyse("lrp.epsilon", one_w, zero_b, A([-1.0]), [0])[0, 0]
    print(
        f"  lrp.epsilon z=-1 gives R = {r!r} -> -1/(-1-eps) * -1 => eps = {-1 / r - 1:.6e} (sign -1)"
    )
    for z in (1.0, -1.0):
        r = T.analyse("lrp.epsilon", one_w, zero_b, A([z]), [0], epsilon=0.5)[0, 0]
        print(
            f"  lrp.epsilon(epsilon=0.5), z={z:+}: R = {r!r}  [z*z/(z+0.5 s(z)) = {z * z / (z + 0.5 * np.sign(z))}]"
        )
    # sign(0): bias-ignoring epsilon with x.w = 0 but logit = b = 0.5
    W, B, x = [A([1.0], [1.0])], [V(0.5)], A([1.0, -1.0])
    r = T.analyse("lrp.epsilon", W, B, x, [0], epsilon=0.5, bias=False)[0]
    print(
        f"  lrp.epsilon(epsilon=0.5, bias=False), x.w=0, R_j=0.5: R = {r.tolist()}  (+1/-1 => sign(0)=+1)"
    )
    r = T.analyse("lrp.z_plus_fast", W, B, x, [0])[0]
    print(
        f"  safe_divide factor: z_plus_fast, denominator 0, R_j=0.5: R = {r.tolist()} -> factor = {0.5 / r[0]:.6e}"
    )
    r = T.analyse("lrp.alpha_1_beta_0_IB", [A([1.0], [-1.0])], [V(0.5)], A([1.0, 1.0]), [0])[0]
    print(
        f"  alpha_1_beta_0_IB with x.w = (1,-1), b = .5: R = {r.tolist()}  (P_j = 1, no zero division)"
    )


# ---------------------------------------------------------------- random networks
def random_net(rng, zero_bias=False):
    depth = int(rng.integers(1, 4))
    widths = [int(rng.integers(1, 7)) for _ in range(depth + 1)]
    W = [rng.normal(size=(widths[k], widths[k + 1])) for k in range(depth)]
    B = [
        np.zeros(widths[k + 1]) if zero_bias else rng.normal(scale=0.5, size=widths[k + 1])
        for k in range(depth)
    ]
    n = int(rng.integers(1, 5))
    x = rng.normal(size=(n, widths[0]))
    c = rng.integers(0, widths[-1], size=n)
    return W, B, x, c


def run_random(nets, seed):
    print("=" * 100)
    print(
        f"RANDOM NETWORKS: {nets} nets, depth 1-3, widths 1-6, N(0,1) weights and inputs, "
        f"N(0,.5) biases, 1-4 samples, seed {seed}"
    )
    rng = np.random.default_rng(seed)
    cases = [random_net(rng) for _ in range(nets)]
    tg = all_targets()
    for name, fn in tg.items():
        t0 = time.time()
        worst, worst_abs = 0.0, 0.0
        alts = ALTERNATIVES.get(name, {})
        alt_worst = {k: 0.0 for k in alts}
        for W, B, x, c in cases:
            got = fn(W, B, x, c)
            want = reference(name, W, B, x, c)
            worst = max(worst, rel_diff(got, want))
            worst_abs = max(worst_abs, float(np.max(np.abs(got - want))))
            for k, rule in alts.items():
                alt_worst[k] = max(alt_worst[k], rel_diff(got, reference(rule, W, B, x, c)))
        print(
            f"  {name:30s} formula: max normwise rel diff {worst:.2e}, max abs diff {worst_abs:.2e}"
            f"  ({time.time() - t0:.0f}s)"
        )
        for k, v in alt_worst.items():
            print(f"  {'':30s}   rejected alternative '{k}': max rel diff {v:.2e}")


def run_conservation(nets, seed):
    print("=" * 100)
    print(f"CONSERVATION on {nets} zero-bias random nets: sum_i R_i vs chosen logit")
    rng = np.random.default_rng(seed + 1)
    cases = [random_net(rng, zero_bias=True) for _ in range(nets)]
    for name, fn in all_targets().items():
        ok, total, worst = 0, 0, 0.0
        for W, B, x, c in cases:
            R = fn(W, B, x, c)
            acts = x
            for k, (Wk, bk) in enumerate(zip(W, B, strict=True)):
                acts = acts @ Wk + bk
                if k < len(W) - 1:
                    acts = np.maximum(acts, 0)
            logit = acts[np.arange(len(c)), c]
            err = np.abs(R.sum(1) - logit) / np.maximum(np.abs(logit), 1e-12)
            ok += int(np.sum(err <= 1e-6))
            total += len(c)
            worst = max(worst, float(np.max(err)))
        print(
            f"  {name:30s} conserved (rel err <= 1e-6) in {ok}/{total} samples; worst rel err {worst:.2e}"
        )


def run_against_project(nets, seed):
    """Nearest project reference (lrp_invariants.targets) for each iNNvestigate analyser."""
    import lrp_invariants.targets as P  # noqa: N812

    names = [
        "lrp_0",
        "lrp_epsilon",
        "lrp_alpha_beta",
        "lrp_zplus",
        "lrp_alpha_beta_stabilised",
        "lrp_zplus_without_bias",
        "lrp_zplus_clamped_weights",
        "gradient_x_input",
    ]
    print("=" * 100)
    print(f"AGAINST THE PROJECT'S REFERENCES on {nets} random nets (max normwise rel diff)")
    rng = np.random.default_rng(seed + 2)
    cases = [random_net(rng) for _ in range(nets)]
    for name, fn in all_targets().items():
        got = [fn(W, B, x, c) for W, B, x, c in cases]
        row = []
        for ref in names:
            f = getattr(P, ref)
            d = max(
                rel_diff(g, np.asarray(f(W, B, x, c)))
                for g, (W, B, x, c) in zip(got, cases, strict=True)
            )
            row.append(f"{ref}={d:.1e}")
        print(f"  {name:30s} " + " ".join(row))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nets", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-probes", action="store_true")
    p.add_argument(
        "--against-project",
        type=int,
        default=0,
        metavar="NETS",
        help="also compare with lrp_invariants.targets on NETS random nets",
    )
    args = p.parse_args()
    import innvestigate
    import tensorflow as tf

    print(
        f"tensorflow {tf.__version__}, innvestigate {innvestigate.__version__} (module string), "
        f"floatx {tf.keras.backend.floatx()}, K.epsilon() {tf.keras.backend.epsilon()}"
    )
    print("available:", T.AVAILABLE, "| missing:", T.MISSING)
    if not args.skip_probes:
        run_probes()
        run_constants()
    if args.nets:
        run_random(args.nets, args.seed)
        run_conservation(args.nets, args.seed)
    if args.against_project:
        run_against_project(args.against_project, args.seed)


if __name__ == "__main__":
    main()
