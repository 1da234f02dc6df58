"""The invariants as checks: build the networks an invariant needs, run the code under test on
them, and compare with a tolerance from :mod:`lrp_invariants.bounds`.

Two families share one :class:`Comparison` and one failure, :class:`InvariantViolation`:

* the core's own invariants (activation equivalence, layer-wise conservation with every sink,
  the bias-proxy numbers, net2 against net3 layer by layer), which look inside the core;
* the target invariants of :data:`PROPERTIES`, which only call a function in the gate protocol
  ``fn(weights, biases, x, classes) -> relevance`` and so apply to anyone's attribution code.

Every check first asserts its precondition — that the constructed networks compute what net1
computes — so that a failure always speaks of the attribution, not of the construction.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from numpy.typing import NDArray

from .bounds import (
    Ball,
    LayerBalls,
    Precision,
    add,
    agreement_tolerance,
    conservation_tolerance,
    enclose_forward,
    enclose_gradient,
    enclose_relevance,
    mul,
    total,
    trace_balls,
)
from .cases import SeedCase
from .constructions import (
    exact_rescaling_exponent,
    permute_hidden_units,
    rescale_hidden_unit,
    split_proxy_relevance,
)
from .methods import Method, Target
from .network import Array, LayerTrace, Linear, Network, forward, gradient
from .relevance import explain
from .rules import LRP0, Rule

Draw = Callable[[st.SearchStrategy[Any]], Any]


class InvariantViolation(AssertionError):
    """An invariant does not hold: the message names it and shows the worst value."""


class TargetMisbehaved(AssertionError):
    """The code under test broke the protocol: it raised, hung, returned the wrong shape or
    dtype, returned NaN or inf, or modified its inputs."""


@dataclass(frozen=True, eq=False)
class Comparison:
    """``actual == expected`` elementwise, within ``tolerance`` (an error bound, per element)."""

    claim: str
    actual: Array
    expected: Array
    tolerance: Array

    @property
    def error(self) -> Array:
        with np.errstate(invalid="ignore"):
            return np.abs(
                np.asarray(self.actual, np.float64) - np.asarray(self.expected, np.float64)
            )

    @property
    def failing(self) -> NDArray[np.bool_]:
        """Elements out of tolerance; NaN anywhere fails, an infinite tolerance passes."""
        error = self.error
        with np.errstate(invalid="ignore"):
            return ~(error <= self.tolerance) | np.isnan(error)

    def holds(self) -> bool:
        return not bool(np.any(self.failing))

    def worst_ratio(self) -> float:
        """The largest error / tolerance over elements with a finite tolerance (0 if none)."""
        error, tol = self.error, np.broadcast_to(self.tolerance, self.error.shape)
        finite = np.isfinite(tol)
        if not np.any(finite):
            return 0.0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = np.where(error[finite] == 0, 0.0, error[finite] / tol[finite])
        return float(np.nan_to_num(ratio, nan=np.inf).max())

    def vacuous(self) -> int:
        """How many elements had no finite tolerance (a kink or an unbounded ratio)."""
        return int(
            np.count_nonzero(~np.isfinite(np.broadcast_to(self.tolerance, self.error.shape)))
        )

    def describe(self) -> str:
        error = self.error
        tol = np.broadcast_to(self.tolerance, error.shape)
        failing = self.failing
        if not np.any(failing):
            return f"{self.claim}: holds (worst error {self.worst_ratio():.3g} x tolerance)"
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            badness = np.where(failing, np.nan_to_num(error / tol, nan=np.inf), -1.0)
        index = np.unravel_index(int(np.argmax(badness)), error.shape)
        where = tuple(int(i) for i in index)
        actual = np.asarray(self.actual)[index]
        expected = np.asarray(self.expected)[index]
        return (
            f"{self.claim}: {int(np.count_nonzero(failing))} of {error.size} values out of "
            f"tolerance; worst at index {where}: actual {actual!r}, expected {expected!r}, "
            f"|error| {error[index]:.6g} > tolerance {tol[index]:.6g}"
        )


def require(sentence: str, comparisons: Sequence[Comparison]) -> list[Comparison]:
    """Raise :class:`InvariantViolation` with ``sentence`` unless every comparison holds."""
    failed = [c for c in comparisons if not c.holds()]
    if failed:
        details = "\n  ".join(c.describe() for c in failed)
        raise InvariantViolation(f"{sentence}\n  {details}")
    return list(comparisons)


# ---------------------------------------------------------------------------------------------
# Calling code under test.


def call_target(
    target: Target, network: Network, x: Array, classes: Array, time_limit: float | None = None
) -> Array:
    """Run ``target`` on fresh copies of the network and batch, and check its behaviour.

    The result must be a finite (n, d) array of the network's dtype, computed without modifying
    any argument. ``time_limit`` (seconds) is enforced by the gate, which can stop a run.
    """
    weights = [w.copy() for w in network.weights]
    biases = [b.copy() for b in network.biases]
    x_in, classes_in = x.copy(), classes.copy()
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # the target's warnings are its own; results count
            result = target(weights, biases, x_in, classes_in)
    except Exception as error:  # the target's own failure is a finding, not a crash of ours
        summary = str(error).splitlines()[0] if str(error) else ""
        raise TargetMisbehaved(f"the target raised {type(error).__name__}: {summary}") from error
    elapsed = time.perf_counter() - start
    if time_limit is not None and elapsed > time_limit:
        raise TargetMisbehaved(f"the target took {elapsed:.3g} s, over the limit of {time_limit} s")
    arguments = [("x", x, x_in), ("classes", classes, classes_in)]
    for i in range(network.depth):
        arguments.append((f"weights[{i}]", network.weights[i], weights[i]))
        arguments.append((f"biases[{i}]", network.biases[i], biases[i]))
    for name, before, after in arguments:
        if not np.array_equal(before, after):
            raise TargetMisbehaved(f"the target modified its input {name} in place")
    array = np.asarray(result)
    expected = (x.shape[0], network.n_inputs)
    if array.shape != expected:
        raise TargetMisbehaved(f"the target returned shape {array.shape}; expected {expected}")
    if array.dtype != network.dtype:
        raise TargetMisbehaved(f"the target returned dtype {array.dtype}; expected {network.dtype}")
    if not np.all(np.isfinite(array)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise TargetMisbehaved(f"the target returned {array[bad]} at index {bad}")
    return array


def _selected(balls: Ball, classes: Array) -> Ball:
    rows = np.arange(balls.mid.shape[0])
    return Ball(balls.mid[rows, classes], balls.rad[rows, classes])


# ---------------------------------------------------------------------------------------------
# The core's own invariants (they look inside the core's trace and relevance).


def activation_equivalence(case: SeedCase) -> list[Comparison]:
    """Every layer of net2 at x2 and of net3 at x3 = x2 computes what net1 computes at x1."""
    t1, t2, t3 = (
        forward(case.net1, case.x1),
        forward(case.net2, case.x2),
        forward(case.net3, case.x2),
    )
    out = []
    for i in range(case.net1.depth):
        b1, b2, b3 = case.balls1.z[i], case.balls2.z[i], case.balls3.z[i]
        out.append(
            Comparison(
                f"z[{i}] of net2 == z[{i}] of net1", t2.z[i], t1.z[i], agreement_tolerance(b2, b1)
            )
        )
        out.append(
            Comparison(
                f"z[{i}] of net3 == z[{i}] of net1", t3.z[i], t1.z[i], agreement_tolerance(b3, b1)
            )
        )
    return out


def layerwise_conservation(
    network: Network, x: Array, classes: Array, rule: Rule
) -> list[Comparison]:
    """At every layer, input relevance plus every sink at and above it equals the logit."""
    trace, relevance = explain(network, x, classes, rule)
    bound = conservation_tolerance(
        enclose_relevance(network, trace_balls(trace), classes, rule), Precision.of(network.dtype)
    )
    return [
        Comparison(
            f"layer {i}: input relevance + sinks at and above == output relevance",
            relevance.total(i),
            relevance.output_total,
            bound[:, i],
        )
        for i in range(network.depth)
    ]


def relay_gain(rule: Rule, dtype: np.dtype[np.floating]) -> float:
    """What a rule passes through an identity unit with input 1: the bias proxy's relay."""
    one = np.ones((1, 1), dtype)
    unit = Linear(one[0:1], np.zeros(1, dtype))
    return float(rule.backward(unit, LayerTrace(one, one), one).R[0, 0])


def bias_proxy_numbers(case: SeedCase, rule: Rule) -> list[Comparison]:
    """The bias-proxy network shows each layer's bias relevance at its constant input, after
    passing ``l`` relays (each multiplies by the rule's relay gain), and the same relevance at x."""
    p = case.precision
    net1, (proxy, xp) = case.net1, case.proxy
    relevance = explain(net1, case.x1, case.classes, rule)[1]
    proxy_relevance = explain(proxy, xp, case.classes, rule)[1]
    Rx, Rbias = split_proxy_relevance(net1, proxy_relevance.input)
    balls = enclose_relevance(net1, case.balls1, case.classes, rule, p)
    proxy_balls = enclose_relevance(proxy, case.proxy_balls, case.classes, rule, p)[0].R
    d = net1.n_inputs
    out = [
        Comparison(
            "relevance at x: bias proxy == net1",
            Rx,
            relevance.input,
            agreement_tolerance(proxy_balls[:, :d], balls[0].R),
        )
    ]
    gain = relay_gain(rule, net1.dtype)
    gain_ball = Ball.exact(gain) if gain == 1 else Ball(np.array(gain), np.array(2 * p.u * gain))
    for i, layer in enumerate(relevance.layers):
        expected_ball = total(balls[i].Rb, axis=1, p=p)
        expected = layer.Rb.sum(axis=1, dtype=np.float64)
        for _ in range(i):
            expected_ball = mul(expected_ball, gain_ball, p)
            expected = expected * gain
        out.append(
            Comparison(
                f"bias {i}: proxy input relevance == Rb[{i}] x relay gain {gain:.17g} ** {i}",
                Rbias[:, i],
                expected,
                agreement_tolerance(proxy_balls[:, d + i], expected_ball),
            )
        )
    return out


def shift_decomposition_core(case: SeedCase, rule: Rule) -> list[Comparison]:
    """rx1 == rx3 + rm3 elementwise, with net3's constant input -m inside the core."""
    p = case.precision
    rx1 = explain(case.net1, case.x1, case.classes, rule)[1].input
    first = explain(case.net3, case.x2, case.classes, rule)[1].layers[0]
    assert first.Rm is not None
    ball1 = enclose_relevance(case.net1, case.balls1, case.classes, rule, p)[0].R
    ball3 = enclose_relevance(case.net3, case.balls3, case.classes, rule, p)[0]
    assert ball3.Rm is not None
    return [
        Comparison(
            "rx1 == rx3 + rm3",
            rx1,
            first.R + first.Rm,
            agreement_tolerance(ball1, add(ball3.R, ball3.Rm, p)),
        )
    ]


def net2_net3_agreement(case: SeedCase, rule: Rule) -> list[Comparison]:
    """net2 and net3 give the same relevance at every layer but the input."""
    p = case.precision
    r2 = explain(case.net2, case.x2, case.classes, rule)[1]
    r3 = explain(case.net3, case.x2, case.classes, rule)[1]
    b2 = enclose_relevance(case.net2, case.balls2, case.classes, rule, p, case.first_bias2)
    b3 = enclose_relevance(case.net3, case.balls3, case.classes, rule, p)
    return [
        Comparison(
            f"relevance of layer {i}'s outputs: net2 == net3",
            r2.layers[i].R_out,
            r3.layers[i].R_out,
            agreement_tolerance(b2[i].R_out, b3[i].R_out),
        )
        for i in range(case.net1.depth)
    ]


def lrp_0_is_gradient_times_input(case: SeedCase) -> list[Comparison]:
    """LRP-0 equals gradient x input on ReLU networks, biases and all."""
    p = case.precision
    trace, relevance = explain(case.net1, case.x1, case.classes, LRP0())
    gxi = gradient(case.net1, trace, case.classes) * case.x1
    lrp_ball = enclose_relevance(case.net1, case.balls1, case.classes, LRP0(), p)[0].R
    gxi_ball = mul(case.balls1.a[0], enclose_gradient(case.net1, case.balls1, case.classes, p), p)
    return [
        Comparison(
            "LRP-0 == gradient x input",
            relevance.input,
            gxi,
            agreement_tolerance(lrp_ball, gxi_ball),
        )
    ]


# ---------------------------------------------------------------------------------------------
# Target invariants: they only call fn(weights, biases, x, classes).


@dataclass(frozen=True)
class Property:
    """A target invariant: its name, the sentence it proves, and its check."""

    name: str
    sentence: str
    check: Callable[[SeedCase, Target, Method, Draw], list[Comparison]]


def _input_invariance(
    case: SeedCase, target: Target, method: Method, draw: Draw
) -> list[Comparison]:
    p = case.precision
    a = call_target(target, case.net1, case.x1, case.classes)
    b = call_target(target, case.net2, case.x2, case.classes)
    ball1 = method.enclose(case.net1, case.balls1, case.classes, p)
    ball2 = method.enclose(case.net2, case.balls2, case.classes, p, case.first_bias2)
    return [
        Comparison(
            "relevance(net2, x1 + m) == relevance(net1, x1)",
            b,
            a,
            agreement_tolerance(ball2, ball1),
        )
    ]


def _shift_decomposition(
    case: SeedCase, target: Target, method: Method, draw: Draw
) -> list[Comparison]:
    p = case.precision
    d = case.net1.n_inputs
    rx1 = call_target(target, case.net1, case.x1, case.classes)
    network, x3 = case.plain_net3
    r3 = call_target(target, network, x3, case.classes)
    ball1 = method.enclose(case.net1, case.balls1, case.classes, p)
    ball3 = method.enclose(network, case.plain_balls3, case.classes, p)
    return [
        Comparison(
            "rx1 == rx3 + rm3",
            rx1,
            r3[:, :d] + r3[:, d:],
            agreement_tolerance(ball1, add(ball3[:, :d], ball3[:, d:], p)),
        )
    ]


def _bias_proxy_conservation(
    case: SeedCase, target: Target, method: Method, draw: Draw
) -> list[Comparison]:
    p = case.precision
    proxy, xp = case.proxy
    relevance = call_target(target, proxy, xp, case.classes).astype(np.float64)
    layers = method.enclose_layers(proxy, case.proxy_balls, case.classes, p)
    logit = _selected(case.proxy_balls.z[-1], case.classes)
    unassigned = (
        _unassigned(layers, p) if method.rule is not None else Ball.exact(np.zeros_like(logit.mid))
    )
    k = relevance.shape[1] + 2
    tolerance = (
        conservation_tolerance(layers, p)[:, 0]
        + logit.rad
        + unassigned.rad
        + p.gamma(k) * (np.abs(relevance).sum(axis=1) + np.abs(logit.mid) + np.abs(unassigned.mid))
    )
    return [
        Comparison(
            "sum of relevance on the bias-proxy network == logit - unassigned",
            relevance.sum(axis=1),
            logit.mid - unassigned.mid,
            tolerance,
        )
    ]


def _unassigned(layers: Sequence[LayerBalls], p: Precision) -> Ball:
    """All relevance the rule kept back (``Rs``) over the network, per sample."""
    per_layer = [total(layer.Rs, axis=1, p=p) for layer in layers]
    result = per_layer[0]
    for ball in per_layer[1:]:
        result = add(result, ball, p)
    return result


def _bias_proxy_transparency(
    case: SeedCase, target: Target, method: Method, draw: Draw
) -> list[Comparison]:
    p = case.precision
    d = case.net1.n_inputs
    proxy, xp = case.proxy
    a = call_target(target, case.net1, case.x1, case.classes)
    b = call_target(target, proxy, xp, case.classes)[:, :d]
    ball1 = method.enclose(case.net1, case.balls1, case.classes, p)
    ball_p = method.enclose(proxy, case.proxy_balls, case.classes, p)[:, :d]
    return [
        Comparison(
            "relevance at x: bias-proxy network == net1", b, a, agreement_tolerance(ball_p, ball1)
        )
    ]


def _changed_network(
    case: SeedCase, other: Network, target: Target, method: Method, claim: str
) -> list[Comparison]:
    p = case.precision
    a = call_target(target, case.net1, case.x1, case.classes)
    b = call_target(target, other, case.x1, case.classes)
    ball1 = method.enclose(case.net1, case.balls1, case.classes, p)
    ball_o = method.enclose(
        other, enclose_forward(other, Ball.exact(case.x1), p=p), case.classes, p
    )
    return [Comparison(claim, b, a, agreement_tolerance(ball_o, ball1))]


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
    layer = draw(st.integers(0, case.net1.depth - 2))
    unit = draw(st.integers(0, case.net1.layers[layer].n_out - 1))
    exponent = exact_rescaling_exponent(case.net1, layer, unit, draw(st.integers(-12, 12)))
    other = rescale_hidden_unit(case.net1, layer, unit, exponent)
    return _changed_network(
        case,
        other,
        target,
        method,
        f"relevance with unit {unit} of layer {layer} rescaled by 2**{exponent} == net1's",
    )


def _batch_consistency(
    case: SeedCase, target: Target, method: Method, draw: Draw
) -> list[Comparison]:
    p = case.precision
    batch = call_target(target, case.net1, case.x1, case.classes)
    one_by_one = np.vstack(
        [
            call_target(target, case.net1, case.x1[i : i + 1], case.classes[i : i + 1])
            for i in range(case.x1.shape[0])
        ]
    )
    ball = method.enclose(case.net1, case.balls1, case.classes, p)
    return [
        Comparison(
            "relevance of the batch == relevance of each sample alone",
            batch,
            one_by_one,
            agreement_tolerance(ball, ball),
        )
    ]


def _determinism(case: SeedCase, target: Target, method: Method, draw: Draw) -> list[Comparison]:
    first = call_target(target, case.net1, case.x1, case.classes)
    second = call_target(target, case.net1, case.x1, case.classes)
    exact = np.zeros_like(first)  # the same call on the same arrays: the same bits
    return [Comparison("the second call == the first, bit for bit", second, first, exact)]


def _reference(case: SeedCase, target: Target, method: Method, draw: Draw) -> list[Comparison]:
    p = case.precision
    actual = call_target(target, case.net1, case.x1, case.classes)
    expected = np.asarray(
        method.reference(case.net1.weights, case.net1.biases, case.x1, case.classes)
    )
    ball = method.enclose(case.net1, case.balls1, case.classes, p)
    return [
        Comparison(
            f"target == lrp-invariants' {method.name}",
            actual,
            expected,
            agreement_tolerance(ball, ball),
        )
    ]


PROPERTIES: dict[str, Property] = {
    prop.name: prop
    for prop in (
        Property(
            "input-invariance",
            "A constant input shift m, compensated in net2's first bias, changes nothing: "
            "relevance(net2, x1 + m) == relevance(net1, x1).",
            _input_invariance,
        ),
        Property(
            "shift-decomposition",
            "On net3, which takes -m as a second input through W1, the relevance of x1 "
            "splits into that of x3 = x1 + m and that of -m: rx1 == rx3 + rm3.",
            _shift_decomposition,
        ),
        Property(
            "bias-proxy-conservation",
            "With every bias an always-on input relayed to its layer (the seed's option "
            "TWO), the input relevance adds up to the logit, less what the rule keeps "
            "back (ε's stabiliser, αβ's empty sides).",
            _bias_proxy_conservation,
        ),
        Property(
            "bias-proxy-transparency",
            "Turning biases into relayed inputs changes no relevance at x.",
            _bias_proxy_transparency,
        ),
        Property(
            "permutation", "Reordering hidden units changes no input relevance.", _permutation
        ),
        Property(
            "rescaling",
            "Scaling a hidden unit's incoming weights and bias by 2**k and its outgoing "
            "weights by 2**-k changes no input relevance.",
            _rescaling,
        ),
        Property(
            "batch-consistency",
            "The relevance of a batch equals the relevance of its samples one by one.",
            _batch_consistency,
        ),
        Property(
            "determinism",
            "The same call on the same arrays gives the same relevance, bit for bit.",
            _determinism,
        ),
        Property(
            "reference",
            "The target agrees with lrp-invariants' reference implementation of the "
            "method it claims.",
            _reference,
        ),
    )
}


def check_property(
    prop: Property, case: SeedCase, target: Target, method: Method, draw: Draw
) -> list[Comparison]:
    """Run one target property on one case; raise :class:`InvariantViolation` if it fails."""
    return require(prop.sentence, prop.check(case, target, method, draw))
