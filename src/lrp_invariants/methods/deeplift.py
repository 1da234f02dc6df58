"""DeepLIFT-Rescale against a zero or a given reference: the secant slope of each ReLU between
the input's and the reference's pass, chained back from the logit; it adds up to
``f(x) - f(x0)`` exactly (summation to delta).
"""

from __future__ import annotations

from .. import targets
from ..bounds import Ball, add
from ..bounds.deeplift import enclose_deeplift
from ..cases import ReferenceCase
from .base import ALWAYS, Family, Method, Target, ordered
from .baseline import BaselineMethod, Encloser, check_baseline, parse_baseline_options

NAME = "deeplift-rescale"

_IMPLIED = ("completeness", "permutation", "rescaling", "batch-consistency", *ALWAYS)


def deeplift_method(baseline: str = "zero") -> Method:
    """DeepLIFT-Rescale from a ``zero`` or ``given`` reference."""
    check_baseline(baseline)
    given = baseline == "given"
    reference: Target = (
        targets.deeplift_rescale_from_baseline if given else targets.deeplift_rescale
    )
    return BaselineMethod(
        NAME,
        reference,
        ordered((*_IMPLIED, *(("baseline-invariance",) if given else ()))),
        NAME if not given else f"{NAME}:baseline=given",
        exact=NAME,
        baseline=baseline,
    )


def parse(text: str) -> Method | None:
    """``deeplift-rescale:baseline=given``; None if ``text`` names another method."""
    name, _, options = text.partition(":")
    if name != NAME:
        return None
    return deeplift_method(parse_baseline_options(name, options).get("baseline", "zero"))


def _enclose(reference_case: ReferenceCase, exact: str, where: str) -> Ball:
    case, p = reference_case.case, reference_case.case.precision
    network, _, _ = reference_case.arrays(where)
    forward, reference = reference_case.passes(where)
    delta = add(forward.a[0], Ball(-reference.a[0].mid, reference.a[0].rad), p)
    return enclose_deeplift(network, forward, reference, delta, case.classes, p)


EXACT_VALUES: dict[str, Encloser] = {NAME: _enclose}
"""How the exact value this family is held to is enclosed, by name."""

METHODS: tuple[Method, ...] = (deeplift_method(),)
"""The family's built-in method, listed by its name."""

BY_SPEC: tuple[Method, ...] = (deeplift_method("given"),)
"""Built-in claims listed by their spec: the reference is part of the claim."""

FAMILY = Family(METHODS, parse, BY_SPEC, EXACT_VALUES)
