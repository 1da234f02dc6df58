"""Every property the gate knows, defined once: its name, the one-line claim tables print and
the sentence it proves, in the order reports list them.

:data:`ALL_PROPERTIES` (the names) and :data:`lrp_invariants.invariants.PROPERTIES` (each claim
with its check) are both derived from :data:`CLAIMS`. This module imports nothing of the package:
the methods (which order the properties they imply) and the checks (which call the methods) both
read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """A property's name, its one-line claim for tables, and the sentence it proves."""

    name: str
    claim: str
    sentence: str


INPUT_INVARIANCE = Claim(
    "input-invariance",
    "relevance(net2, x1 + m) == relevance(net1, x1)",
    (
        "A constant input shift m, compensated in net2's first bias, changes nothing: "
        "relevance(net2, x1 + m) == relevance(net1, x1)."
    ),
)

SHIFT_DECOMPOSITION = Claim(
    "shift-decomposition",
    "rx1 == rx3 + rm3",
    (
        "On net3, which takes -m as a second input through W1, the relevance of x1 splits into "
        "that of x3 = x1 + m and that of -m: rx1 == rx3 + rm3."
    ),
)

BIAS_PROXY_CONSERVATION = Claim(
    "bias-proxy-conservation",
    "sum(R) on the bias proxy == logit - unassigned",
    (
        "With every bias an always-on input relayed to its layer (the reply's preferred treatment "
        "of biases), the input relevance adds up to where it starts (the logit; 1, the "
        "probability or the given relevance's sum where it starts there), less what the rule "
        "keeps back (ε's stabiliser, αβ's empty sides)."
    ),
)

BIAS_PROXY_TRANSPARENCY = Claim(
    "bias-proxy-transparency",
    "biases as inputs change nothing at x",
    "Turning biases into relayed inputs changes no relevance at x.",
)

PERMUTATION = Claim(
    "permutation",
    "reordering hidden units changes nothing",
    "Reordering hidden units changes no input relevance.",
)

RESCALING = Claim(
    "rescaling",
    "rescaling hidden units by 2**k changes nothing",
    (
        "Scaling each hidden unit's incoming weights and bias by its own 2**k and its outgoing "
        "weights by 2**-k changes no input relevance."
    ),
)

BATCH_CONSISTENCY = Claim(
    "batch-consistency",
    "a batch == its samples one by one",
    "The relevance of a batch equals the relevance of its samples one by one.",
)

DETERMINISM = Claim(
    "determinism",
    "the same call twice gives the same bits",
    "The same call on the same arrays gives the same relevance, bit for bit.",
)

REFERENCE = Claim(
    "reference",
    "agrees with this package's implementation",
    "The target agrees with lrp-invariants' reference implementation of the method it claims.",
)

COMPLETENESS = Claim(
    "completeness",
    "sum(R) == f(x) - f(x0)",
    (
        "The relevance adds up to the chosen logit at x less the logit at the baseline x0 "
        "(DeepLIFT's summation to delta, integrated gradients' completeness)."
    ),
)

BASELINE_INVARIANCE = Claim(
    "baseline-invariance",
    "R(net2, x1 + m, x0 + m) == R(net1, x1, x0)",
    (
        "With the baseline moved by the same shift as the input, net2's relevance at x1 + m equals"
        " net1's at x1 (with a zero baseline it does not: Kindermans et al.)."
    ),
)

CLAIMS: tuple[Claim, ...] = (
    INPUT_INVARIANCE,
    SHIFT_DECOMPOSITION,
    BIAS_PROXY_CONSERVATION,
    BIAS_PROXY_TRANSPARENCY,
    PERMUTATION,
    RESCALING,
    BATCH_CONSISTENCY,
    DETERMINISM,
    REFERENCE,
    COMPLETENESS,
    BASELINE_INVARIANCE,
)
"""Every property, in the order reports list them."""

ALL_PROPERTIES = tuple(claim.name for claim in CLAIMS)
"""Every property the gate knows, in the order reports list them."""
