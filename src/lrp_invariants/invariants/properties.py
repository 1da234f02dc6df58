"""The target invariants: each only calls a function in the gate protocol
``fn(weights, biases, x, classes) -> relevance`` on networks built from a case, so it applies to
anyone's attribution code. :data:`PROPERTIES` names them; a method's claim says which hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from numpy.typing import ArrayLike

from .. import claims
from ..bounds import (
    add,
    agreement_tolerance,
)
from ..cases import SeedCase
from ..claims import Claim
from ..constructions import exact_rescaling_exponent, permute_hidden_units, rescale_hidden_unit
from ..methods import METHODS, Method, Target
from ..network import Array, Network
from .baselines import ReferenceMethod, completeness, shifted_reference_invariance
from .calling import call_target
from .comparison import Comparison, require

Draw = Callable[[st.SearchStrategy[Any]], Any]


def _relevance(
    case: SeedCase,
    target: Target,
    method: Method,
    network: Network | None = None,
    rows: Array | slice = slice(None),
) -> Array:
    """The target's relevance at net1's input (or on ``network``, same input), ``rows`` of it."""
    network = case.net1 if network is None else network
    return call_target(
        target, network, case.x1[rows], case.classes[rows], **method.arguments(case, rows)
    )


@dataclass(frozen=True)
class Property:
    """A target invariant: its name, a one-line claim for tables, the sentence it proves, and
    its check."""

    name: str
    claim: str
    sentence: str
    compare: Callable[[SeedCase, Target, Method, Draw], list[Comparison]]

    def check(self, case: Any, target: Target, method: Method, draw: Draw) -> list[Comparison]:
        """The comparisons of this property on ``case``: a :class:`~lrp_invariants.cases.
        SeedCase`, or a :class:`~lrp_invariants.cnn_cases.CNNGateCase` for the properties the
        CNN architecture checks (they read only what both cases offer). A bound that overflows
        is infinite: it says nothing, and that is no error (an ill-conditioned case, a kink)."""
        with np.errstate(over="ignore"):
            return self.compare(case, target, method, draw)


def _input_invariance(
    case: SeedCase, target: Target, method: Method, draw: Draw
) -> list[Comparison]:
    a = call_target(target, case.net1, case.x1, case.classes, **method.arguments(case))
    b = call_target(
        target, case.net2, case.x2, case.classes, **method.arguments(case, where="net2")
    )
    ball1 = method.enclosure(case, "net1")
    ball2 = method.enclosure(case, "net2")
    return [
        Comparison(
            "relevance(net2, x1 + m) == relevance(net1, x1)",
            b,
            a,
            agreement_tolerance(ball2, ball1),
            "the target's own relevance on net1 at x1",
        )
    ]


def _shift_decomposition(
    case: SeedCase, target: Target, method: Method, draw: Draw
) -> list[Comparison]:
    p = case.precision
    if not case.has_plain_net3:
        return []  # no plain network of the protocol is net3 (a CNN padded with a constant)
    rx1 = call_target(target, case.net1, case.x1, case.classes, **method.arguments(case))
    network, x3 = case.plain_net3
    r3 = call_target(target, network, x3, case.classes, **method.arguments(case, where="net3"))
    ball1 = method.enclosure(case, "net1")
    ball3 = method.enclosure(case, "net3")
    x, m = case.shift_columns  # indices on axis 1: inputs, or a CNN's channels
    return [
        Comparison(
            "rx1 == rx3 + rm3",
            rx1,
            r3[:, x] + r3[:, m],
            agreement_tolerance(ball1, add(ball3[:, x], ball3[:, m], p)),
            "the target's own rx3 + rm3 on net3",
        )
    ]


def _bias_proxy_conservation(
    case: SeedCase, target: Target, method: Method, draw: Draw
) -> list[Comparison]:
    p = case.precision
    proxy, xp = case.proxy
    returned = call_target(target, proxy, xp, case.classes, **method.arguments(case, where="proxy"))
    relevance = returned.astype(np.float64).reshape(returned.shape[0], -1)
    held = case.conservation(method)
    logit, unassigned = held.logit, held.unassigned
    k = relevance.shape[1] + 2
    tolerance = held.rounding + (
        logit.rad
        + unassigned.rad
        + p.gamma(k)
        * (_finite_part(relevance).sum(axis=1) + np.abs(logit.mid) + np.abs(unassigned.mid))
    )
    return [
        Comparison(
            f"sum of relevance on the bias-proxy network == {_started(method)} - unassigned",
            relevance.sum(axis=1),
            logit.mid - unassigned.mid,
            tolerance,
        )
    ]


def _started(method: Method) -> str:
    """What relevance adds up to, less the sinks: the logit, 1 or the probability, where it
    starts."""
    names = {"one": "1", "probability": "probability", "given": "the given relevance's sum"}
    return names.get(method.start, "logit")


def _finite_part(values: np.ndarray) -> np.ndarray:
    """``|values|`` with NaN and inf read as 0: a tolerance must not grow with the defect it
    judges (a target's inf in its own sum would otherwise make the bound infinite)."""
    return np.where(np.isfinite(values), np.abs(values), 0.0)


def _bias_proxy_transparency(
    case: SeedCase, target: Target, method: Method, draw: Draw
) -> list[Comparison]:
    d = case.net1.n_inputs
    proxy, xp = case.proxy
    a = call_target(target, case.net1, case.x1, case.classes, **method.arguments(case))
    b = call_target(target, proxy, xp, case.classes, **method.arguments(case, where="proxy"))
    b = b[:, :d]
    ball1 = method.enclosure(case, "net1")
    ball_p = method.enclosure(case, "proxy")[:, :d]
    return [
        Comparison(
            "relevance at x: bias-proxy network == net1",
            b,
            a,
            agreement_tolerance(ball_p, ball1),
            "the target's own relevance on net1",
        )
    ]


def _changed_network(
    case: SeedCase, other: Network, target: Target, method: Method, claim: str
) -> list[Comparison]:
    a = _relevance(case, target, method)
    b = _relevance(case, target, method, other)
    ball1 = method.enclosure(case, "net1")
    ball_o = method.enclosure_on(case, other)
    return [
        Comparison(
            claim, b, a, agreement_tolerance(ball_o, ball1), "the target's own relevance on net1"
        )
    ]


def _permutation(case: SeedCase, target: Target, method: Method, draw: Draw) -> list[Comparison]:
    if case.net1.depth < 2:
        return []  # no hidden units to permute
    layer = draw(st.integers(0, case.net1.depth - 2))
    order = draw(st.permutations(range(case.net1.layers[layer].n_out)))
    other = permute_hidden_units(case.net1, layer, order)
    return _changed_network(
        case,
        other,
        target,
        method,
        f"relevance with layer {layer}'s units in order {list(order)} == net1's",
    )


def _rescaling(case: SeedCase, target: Target, method: Method, draw: Draw) -> list[Comparison]:
    if case.net1.depth < 2:
        return []  # no hidden units to rescale
    # every hidden unit its own power of two: a rule that meets any unit's scale shows it
    other, scaled = case.net1, []
    for layer in range(case.net1.depth - 1):
        for unit in range(case.net1.layers[layer].n_out):
            wanted = draw(st.integers(-12, 12))
            exponent = exact_rescaling_exponent(other, layer, unit, wanted)
            if exponent:
                other = rescale_hidden_unit(other, layer, unit, exponent)
                scaled.append(f"{layer}.{unit}: 2**{exponent}")
    if not scaled:
        return []
    return _changed_network(
        case,
        other,
        target,
        method,
        f"relevance with hidden units rescaled ({', '.join(scaled)}) == net1's",
    )


def _batch_consistency(
    case: SeedCase, target: Target, method: Method, draw: Draw
) -> list[Comparison]:
    batch = _relevance(case, target, method)
    # every sample of a small batch; of a large one, _ALONE samples spread from the first to
    # the last (a chunked or batch-coupled computation shows in any of them)
    n = case.x1.shape[0]
    rows = np.unique(np.linspace(0, n - 1, min(n, _ALONE)).round().astype(np.intp))
    one_by_one = np.vstack([_relevance(case, target, method, rows=slice(i, i + 1)) for i in rows])
    ball = method.enclosure(case, "net1")[rows]
    return [
        Comparison(
            "relevance of the batch == relevance of each sample alone",
            batch[rows],
            one_by_one,
            agreement_tolerance(ball, ball),
            "the target's own relevance of that sample alone",
        )
    ]


_ALONE = 8
"""How many samples of a batch the batch-consistency property explains alone."""


def _determinism(case: SeedCase, target: Target, method: Method, draw: Draw) -> list[Comparison]:
    first = _relevance(case, target, method)
    second = _relevance(case, target, method)
    if method.deterministic:
        exact = np.zeros_like(first)  # the same call on the same arrays: the same bits
        return [
            Comparison(
                "the second call == the first, bit for bit", second, first, exact, "the first call"
            )
        ]
    # declared nondeterministic (atomic reductions on a GPU): each call is a correct evaluation
    # in some order, so the two agree within the enclosure of the exact value, no closer
    ball = method.enclosure(case, "net1")
    return [
        Comparison(
            "the second call == the first, within the bounds (declared nondeterministic)",
            second,
            first,
            agreement_tolerance(ball, ball),
            "the first call",
        )
    ]


def _reference(case: SeedCase, target: Target, method: Method, draw: Draw) -> list[Comparison]:
    actual = _relevance(case, target, method)
    expected = case.reference_relevance(method)
    ball = method.enclosure(case, "net1")
    return [
        Comparison(
            f"target == lrp-invariants' {method.describe()}",
            actual,
            expected,
            agreement_tolerance(ball, ball),
        )
    ]


def _as_reference_method(target: Target, method: Method) -> ReferenceMethod:
    """The target in the form :mod:`.baselines` calls: ``fn(network, x, classes, x0)``, the
    baseline passed only to a method that takes one."""

    def run(network: Network, x: Array, classes: ArrayLike, x0: Array) -> Array:
        return call_target(target, network, x, np.asarray(classes), **method.baseline_call(x0))

    return run


def _completeness(case: SeedCase, target: Target, method: Method, draw: Draw) -> list[Comparison]:
    run = _as_reference_method(target, method)
    return completeness(run, method.exact_value, case.reference_case)


def _baseline_invariance(
    case: SeedCase, target: Target, method: Method, draw: Draw
) -> list[Comparison]:
    run = _as_reference_method(target, method)
    return shifted_reference_invariance(run, method.exact_value, case.reference_case)


_CHECKS: dict[Claim, Callable[[SeedCase, Target, Method, Draw], list[Comparison]]] = {
    claims.INPUT_INVARIANCE: _input_invariance,
    claims.SHIFT_DECOMPOSITION: _shift_decomposition,
    claims.BIAS_PROXY_CONSERVATION: _bias_proxy_conservation,
    claims.BIAS_PROXY_TRANSPARENCY: _bias_proxy_transparency,
    claims.PERMUTATION: _permutation,
    claims.RESCALING: _rescaling,
    claims.BATCH_CONSISTENCY: _batch_consistency,
    claims.DETERMINISM: _determinism,
    claims.REFERENCE: _reference,
    claims.COMPLETENESS: _completeness,
    claims.BASELINE_INVARIANCE: _baseline_invariance,
}

PROPERTIES: dict[str, Property] = {
    claim.name: Property(claim.name, claim.claim, claim.sentence, _CHECKS[claim])
    for claim in claims.CLAIMS
}
"""Every target invariant by name, in the order reports list them: the names, claims and
sentences of :data:`lrp_invariants.claims.CLAIMS`, each with its check."""
if len(_CHECKS) != len(PROPERTIES):
    raise ImportError("a check without a claim in lrp_invariants.claims.CLAIMS")


def check_property(
    prop: Property, case: SeedCase, target: Target, method: Method, draw: Draw
) -> list[Comparison]:
    """Run one target property on one case; raise :class:`InvariantViolation` if it fails."""
    return require(prop.sentence, prop.check(case, target, method, draw))


def property_table(architecture: str = "mlp") -> str:
    """The Markdown table of which property each method implies, as README shows it and
    ``lrp-invariants methods`` prints it; generated from :data:`PROPERTIES` and ``METHODS``.
    On ``cnn``: the methods the gate judges on CNNs and the properties it checks there."""
    from ..architectures import ARCHITECTURES  # the architectures build on the properties

    kind = ARCHITECTURES[architecture]
    names = [name for name, method in METHODS.items() if kind.judges(method)]
    lines = [
        "| property | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for prop in PROPERTIES.values():
        if prop.name not in kind.properties:
            continue
        cells = ["yes" if prop.name in kind.implied(METHODS[m]) else "-" for m in names]
        lines.append(f"| {prop.name}: {prop.claim} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
