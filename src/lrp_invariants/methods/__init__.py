"""What a target may claim to compute, and which invariants each claim implies.

A :class:`Method` ties a name (``lrp-epsilon``) to the reference implementation in
:mod:`lrp_invariants.targets`, to the enclosure of its exact value that gives every comparison
its tolerance, and to the properties that hold for it; its family's module answers every
question a caller asks of it (:mod:`.base` lists the hooks). :data:`METHODS` holds the built-in
ones, one registry row per family (:mod:`.registry`).
"""

from ..claims import ALL_PROPERTIES
from .base import CNNTarget, Conservation, Family, Method, NetworkMethod, Target
from .registry import (
    BASELINES,
    FAMILIES,
    METHODS,
    QUADRATURE_KIND,
    REFERENCE_METHODS,
    exact_value_encloser,
    lrp_method,
    method_from_options,
    pattern_method,
    quadrature_method,
    reference_method,
    resolve_method,
)

__all__ = [
    "ALL_PROPERTIES",
    "BASELINES",
    "FAMILIES",
    "METHODS",
    "QUADRATURE_KIND",
    "REFERENCE_METHODS",
    "CNNTarget",
    "Conservation",
    "Family",
    "Method",
    "NetworkMethod",
    "Target",
    "exact_value_encloser",
    "lrp_method",
    "method_from_options",
    "pattern_method",
    "quadrature_method",
    "reference_method",
    "resolve_method",
]
