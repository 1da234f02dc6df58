"""Where LRP's relevance starts, as a ball: the chosen logit, exact ones, or the chosen class's
softmax probability.

The probability ``p_c = 1 / Σ_k exp(z_k - z_c)`` is increasing in ``z_c`` and decreasing in
every other logit, so the ends of the logits' balls bound it. A target computes it with its own
``exp``, which no standard requires to be correctly rounded: each evaluation may be off by up
to :data:`EXP_ULPS` units in the last place, and an argument ``z_k - max z`` rounded by ``u``
relative moves ``exp`` by a factor ``exp(u |z_k - max z|)``. The ball holds the exact value and
every evaluation of the stable form (the maximum subtracted first, as every library does).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..network import Start, check_start
from .balls import Ball, total
from .precision import F64, RADIUS_ETA, RADIUS_U, Precision

EXP_ULPS = 4
"""How far a library's ``exp`` may lie from the exact value, in units in the last place. glibc's
and SLEEF's (torch on CPU) stay within 1, CUDA's ``expf`` within 2, vectorised numpy builds
within 4; a correctly rounded one within 1/2."""


def start_ball(logits: Ball, classes: ArrayLike, start: Start, p: Precision) -> Ball:
    """Each sample's starting relevance in all (n,), from the logits' balls (n, K): the chosen
    logit (``start="logit"``), exactly 1 (``"one"``), the softmax probability, or the sum of a
    given (n, K) relevance."""
    rows, chosen = np.arange(logits.mid.shape[0]), np.asarray(classes, dtype=np.intp)
    if check_start(start) == "given":
        return total(Ball.exact(np.asarray(start, dtype=np.float64)), axis=1, p=p)
    if start == "one":
        return Ball.exact(np.ones(rows.shape[0]))
    if start == "logit":
        return Ball(logits.mid[rows, chosen], logits.rad[rows, chosen])
    return probability_ball(logits, chosen, p)


def probability_ball(logits: Ball, classes: ArrayLike, p: Precision) -> Ball:
    """The ball of ``softmax(z)[c]`` per sample (n,), computed in ``p``'s arithmetic."""
    lo, hi = logits.bounds(p)
    n, k = lo.shape
    rows, chosen = np.arange(n), np.asarray(classes, dtype=np.intp)
    others = np.ones((n, k), dtype=bool)
    others[rows, chosen] = False
    lo_c, hi_c = lo[rows, chosen][:, None], hi[rows, chosen][:, None]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # inf: no bound
        # p = exp(-L), L = log(1 + Σ_{k != c} exp(z_k - z_c)), at the two corners of the
        # balls (the largest differences give the least p); L in log-sum-exp form, so that a
        # probability far below 1 (a subnormal one, or 0 in the end) is still bounded
        L_low = _log_one_plus_sum_exp(np.where(others, lo - hi_c, -np.inf))
        L_high = _log_one_plus_sum_exp(np.where(others, hi - lo_c, -np.inf))
        # those float64 evaluations err too: the differences by RADIUS_U relative, exp and log
        # by EXP_ULPS, the sum by k roundings, all within a factor exp(u (...)) of p
        spread = np.max(np.where(others, np.maximum(hi - lo_c, hi_c - lo), 0.0), axis=1)
        ours = np.expm1(RADIUS_U * (6 * spread + 4 * EXP_ULPS + 2 * k + 16))
        p_low = np.exp(-L_high) / (1 + ours) - 2 * RADIUS_ETA
        p_high = np.minimum(np.exp(-L_low) * (1 + ours) + 2 * RADIUS_ETA, 1.0)
        # the target's own evaluation, in its precision: each e_k = exp(z_k - max z) is off by
        # a factor 1 + δ_k, |δ_k| <= ρ_k (its argument rounded, |z_k - max z| u, and exp's
        # EXP_ULPS), then a k-term sum and a division. p_hat = p (1 + δ_c) / (1 + p δ_c +
        # (1 - p) δ_o) (1 + θ) with δ_o the others' weighted mean: where c is surely the largest
        # logit its argument is exactly 0 and exp(0) = 1, δ_c = 0, and only (1 - p) ρ_o is left
        top = np.max(np.where(others, hi, -np.inf), axis=1, initial=-np.inf)
        surely_largest = lo[rows, chosen] >= top
        widest = hi.max(axis=1)[:, None] - lo  # |z_k - max z| over the balls, per output
        rho = np.expm1(p.u * (1 + 2 * p.u) * (widest + EXP_ULPS))
        rho_c = np.where(surely_largest, 0.0, rho[rows, chosen])
        rho_o = np.max(np.where(others, rho, 0.0), axis=1, initial=0.0)
        rounding = np.expm1(p.u * (1 + 2 * p.u) * (k + 2))
        shortfall = np.minimum(1 - p_low, 1.0)  # 1 - p <= 1 - p_low
        most_off = np.maximum(1 - p_high * rho_c - shortfall * rho_o, 0.0)
        theirs = (1 + rho_c) / most_off * (1 + rounding) - 1
        less = 1 - (1 - rho_c) / (1 + p_high * rho_c + shortfall * rho_o) * (1 - rounding)
        # below the smallest normal number relative bounds fail: every exp may be EXP_ULPS of
        # eta off, every sum and the division eta
        lost = (2 * EXP_ULPS + k + 2) * p.eta
        low = np.maximum(p_low * (1 - less) - lost, 0.0)
        high = np.minimum(p_high * (1 + theirs) + lost, 1.0)
        if k == 1:  # exp(0) / exp(0): exactly 1 in every evaluation
            low, high = np.ones(n), np.ones(n)
    unknown = ~(np.isfinite(low) & np.isfinite(high) & np.isfinite(L_low) & np.isfinite(L_high))
    low, high = np.where(unknown, 0.0, low), np.where(unknown, 1.0, high)
    if k == 1:
        return Ball.exact(np.ones(n))
    mid = 0.5 * low + 0.5 * high
    rad = (0.5 * high - 0.5 * low) * (1 + 4 * RADIUS_U) + 4 * RADIUS_U * mid + 2 * RADIUS_ETA
    return Ball(mid, rad)


def _log_one_plus_sum_exp(d: F64) -> F64:
    """``log(1 + Σ_k exp(d_k))`` per row, shifted by the largest term so nothing overflows."""
    top = np.maximum(np.max(d, axis=1), 0.0)
    return top + np.log(np.exp(-top) + np.exp(d - top[:, None]).sum(axis=1))
