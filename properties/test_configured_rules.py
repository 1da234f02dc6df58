"""Rules with drawn parameters and composites: every configuration conserves relevance layer by
layer, its fast form agrees with its literal one, and it keeps every property it implies.

The parameters are drawn, not chosen: ε from 0 to 10², γ from 0 to 4 with both extensions and
every bias convention, α from 1 to 4, z^B boxes at, around and inside the inputs' range.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.example_counts import scaled

from lrp_invariants import forward, logit_relevance, lrp
from lrp_invariants import strategies as lst
from lrp_invariants.bounds import agreement_tolerance, enclose_relevance
from lrp_invariants.cases import SeedCase
from lrp_invariants.invariants import (
    PROPERTIES,
    Comparison,
    check_property,
    layerwise_conservation,
    require,
)
from lrp_invariants.methods import lrp_method
from lrp_invariants.per_contribution import per_contribution_lrp

# each example runs every implied property of a fresh configuration: fewer, richer examples
FEWER = settings(max_examples=scaled(40))


@given(lst.seed_cases(), st.data())
def test_every_configuration_conserves_relevance_layer_by_layer(
    case: SeedCase, data: st.DataObject
) -> None:
    rules = data.draw(lst.composites(case)).rules_for(case.net1.depth)
    require(
        "input relevance + every sink == the logit, at every layer",
        layerwise_conservation(case.net1, case.x1, case.classes, rules),
    )


@given(lst.seed_cases(), st.data())
def test_every_rule_agrees_with_its_literal_per_contribution_form(
    case: SeedCase, data: st.DataObject
) -> None:
    rules = data.draw(lst.composites(case)).rules_for(case.net1.depth)
    trace = forward(case.net1, case.x1)
    start = logit_relevance(case.net1, trace, case.classes)
    fast = lrp(case.net1, trace, start, rules)
    slow = per_contribution_lrp(case.net1, trace, start, rules)
    balls = enclose_relevance(case.net1, case.balls1, case.classes, rules, case.precision)
    # an infinite tolerance says nothing, not even about an inf or NaN in the literal form
    # (a share whose denominator cancelled to a subnormal number overflows there)
    require(
        "the fast form == the literal per-contribution form",
        [
            Comparison(
                f"layer {layer} ({rules[layer].describe()})",
                fast.layers[layer].R,
                slow.layers[layer].R,
                agreement_tolerance(ball.R, ball.R),
            )
            for layer, ball in enumerate(balls)
        ],
    )


@FEWER
@given(lst.seed_cases(), st.data())
def test_every_configuration_keeps_every_property_it_implies(
    case: SeedCase, data: st.DataObject
) -> None:
    method = lrp_method(data.draw(lst.composites(case)))
    for name in method.properties:
        check_property(PROPERTIES[name], case, method.reference, method, data.draw)
