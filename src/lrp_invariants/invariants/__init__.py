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

from .calling import TargetMisbehaved, TargetUnsupported, call_target
from .comparison import Comparison, InvariantViolation, require
from .core import (
    activation_equivalence,
    bias_proxy_numbers,
    gradient_invariance,
    layerwise_conservation,
    lrp_0_is_gradient_times_input,
    net2_net3_agreement,
    relay_gain,
    shift_decomposition_core,
)
from .properties import PROPERTIES, Draw, Property, check_property, property_table

__all__ = [
    "PROPERTIES",
    "Comparison",
    "Draw",
    "InvariantViolation",
    "Property",
    "TargetMisbehaved",
    "TargetUnsupported",
    "activation_equivalence",
    "bias_proxy_numbers",
    "call_target",
    "check_property",
    "gradient_invariance",
    "layerwise_conservation",
    "lrp_0_is_gradient_times_input",
    "net2_net3_agreement",
    "property_table",
    "relay_gain",
    "require",
    "shift_decomposition_core",
]
