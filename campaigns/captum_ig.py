"""Measure Captum's default IntegratedGradients (50 Gauss-Legendre nodes, float32 step sizes)
against the exact integral on generated networks: its completeness error and its distance from
the exact value, each relative to the scale of the sum, and how far inside the quadrature's
discrepancy bound it stays.

``python campaigns/captum_ig.py --cases 300 [--seed 1]`` (needs the [torch] extra)
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed

from lrp_invariants import Network
from lrp_invariants import strategies as lst
from lrp_invariants.adapters.captum_attributions import captum_integrated_gradients_from_baseline
from lrp_invariants.bounds.integrated import absolute_chain
from lrp_invariants.cases import ReferenceCase
from lrp_invariants.integrated import integrated_gradients, quadrature, quadrature_error_bound
from lrp_invariants.network import forward

_, _STEP_SIZES = quadrature("gausslegendre", 50)
FLOAT32_STEPS = float(np.abs(_STEP_SIZES.astype(np.float32) - _STEP_SIZES).sum())
"""How far Captum's float32 step sizes are from the float64 weights, summed."""


def _gamma(network: Network) -> float:
    u = np.finfo(np.float64).eps / 2
    k = 50 + network.depth * (max(network.widths) + 1) + 4
    return k * u / (1 - k * u)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    completeness, distance, of_bound, kinks = [], [], [], []

    @hypothesis_seed(args.seed)
    @settings(
        max_examples=args.cases,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(lst.reference_cases(lst.seed_cases(max_width=8, max_depth=3)))
    def measure(reference_case: ReferenceCase) -> None:
        case, x0 = reference_case.case, reference_case.x0
        network, x, classes = case.net1, case.x1, case.classes
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            captum = captum_integrated_gradients_from_baseline(
                network.weights, network.biases, x, classes, x0
            )
        exact = integrated_gradients(network, x, classes, x0)
        bound = quadrature_error_bound(network, x, classes, x0)
        rows = np.arange(len(classes))
        logits = (
            forward(network, x).z[-1][rows, classes] - forward(network, x0).z[-1][rows, classes]
        )
        scale = np.abs(exact).sum(axis=1)
        for i in range(len(classes)):
            if scale[i] == 0 or not np.isfinite(scale[i]):
                continue
            completeness.append(abs(captum[i].sum() - logits[i]) / scale[i])
            distance.append(np.abs(captum[i] - exact[i]).sum() / scale[i])
            allowed = (
                bound[i]
                + np.abs(x[i] - x0[i])
                * absolute_chain(network, classes[i])
                * (FLOAT32_STEPS + 2 * _gamma(network))
                + 2 * reference_case.enclosure("integrated-gradients").rad[i]
            )
            error = np.abs(captum[i] - exact[i])
            ratio = np.divide(
                error, allowed, out=np.where(error > 0, np.inf, 0.0), where=allowed > 0
            )
            of_bound.append(float(ratio.max()))
            kinks.append(bool(bound[i].sum() > 0))

    measure()
    c, d, b = (np.array(v) for v in (completeness, distance, of_bound))
    print(f"{len(c)} samples ({int(np.sum(kinks))} with a kink on the path)")
    for name, values in (("completeness error / sum|IG|", c), ("|captum - exact| / sum|IG|", d)):
        print(
            f"{name}: median {np.median(values):.2e}, 90% {np.quantile(values, 0.9):.2e}, "
            f"max {values.max():.2e}"
        )
    print(
        "|captum - exact| / (discrepancy bound + float32 steps + rounding), worst feature: "
        f"median {np.median(b):.2e}, max {b.max():.2e}"
    )


if __name__ == "__main__":
    main()
