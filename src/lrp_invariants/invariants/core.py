"""The core's own invariants: they look inside the core's trace and relevance (every sink).

Each function builds what an invariant needs from a :class:`~lrp_invariants.cases.SeedCase` (or a
network and batch), runs the core on it and returns the :class:`Comparison` list that
:func:`~lrp_invariants.invariants.comparison.require` asserts. The property suite and the demo
call the same functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..bounds import (
    Ball,
    Precision,
    add,
    agreement_tolerance,
    conservation_tolerance,
    enclose_gradient,
    enclose_relevance,
    mul,
    total,
    trace_balls,
)
from ..cases import SeedCase
from ..constructions import split_proxy_relevance
from ..network import Array, LayerTrace, Linear, Network, forward, gradient
from ..relevance import explain
from ..rules import LRP0, Rule
from .comparison import Comparison


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


def gradient_invariance(case: SeedCase) -> list[Comparison]:
    """The sensitivity map does not see a compensated shift: gradient(net2, x2) == gradient(net1,
    x1), the exact gradients being equal wherever both networks take the same ReLU branches."""
    p = case.precision
    g1 = gradient(case.net1, forward(case.net1, case.x1), case.classes)
    g2 = gradient(case.net2, forward(case.net2, case.x2), case.classes)
    return [
        Comparison(
            "gradient(net2, x1 + m) == gradient(net1, x1)",
            g2,
            g1,
            agreement_tolerance(
                enclose_gradient(case.net2, case.balls2, case.classes, p),
                enclose_gradient(case.net1, case.balls1, case.classes, p),
            ),
        )
    ]


def layerwise_conservation(
    network: Network, x: Array, classes: Array, rule: Rule | Sequence[Rule]
) -> list[Comparison]:
    """At every layer, input relevance plus every sink at and above it equals the logit."""
    trace, relevance = explain(network, x, classes, rule)
    bound = conservation_tolerance(
        enclose_relevance(network, trace_balls(network, trace), classes, rule),
        Precision.of(network.dtype),
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
    b2 = enclose_relevance(case.net2, case.balls2, case.classes, rule, p)
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
    gxi_ball = enclose_gradient(case.net1, case.balls1, case.classes, p, times_input=True)
    return [
        Comparison(
            "LRP-0 == gradient x input",
            relevance.input,
            gxi,
            agreement_tolerance(lrp_ball, gxi_ball),
        )
    ]
