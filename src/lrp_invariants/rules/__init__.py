"""LRP rules: one module per rule, each with its fast form, its literal twin and its enclosure.

=================  ==========================================  ======================
rule               module                                      typical layer
=================  ==========================================  ======================
``LRP0``           :mod:`~lrp_invariants.rules.epsilon`        top
``Epsilon``        :mod:`~lrp_invariants.rules.epsilon`        every layer
``AlphaBeta``      :mod:`~lrp_invariants.rules.alpha_beta`     lower layers
``ZPlus``          :mod:`~lrp_invariants.rules.alpha_beta`     lower layers
``Gamma``          :mod:`~lrp_invariants.rules.gamma`          hidden layers
``ZBox``           :mod:`~lrp_invariants.rules.zbox`           first layer (pixels)
``WSquare``        :mod:`~lrp_invariants.rules.input_blind`    first layer
``Flat``           :mod:`~lrp_invariants.rules.input_blind`    first layer
``Pass``           :mod:`~lrp_invariants.rules.pass_through`   batch norm (Zennit)
=================  ==========================================  ======================

:mod:`~lrp_invariants.rules.base` holds what they share (the sinks, the 0/0 convention);
:mod:`~lrp_invariants.rules.modified` the machinery of γ and z^B.
"""

from .alpha_beta import AlphaBeta, ZPlus
from .base import (
    BIAS_CONVENTIONS,
    BiasConvention,
    LayerRelevance,
    Rule,
    contributions,
    divide_or_zero,
    stabiliser,
)
from .epsilon import LRP0, Epsilon
from .gamma import Gamma
from .input_blind import Flat, WSquare, column_normalised
from .pass_through import Pass
from .zbox import ZBox

__all__ = [
    "BIAS_CONVENTIONS",
    "LRP0",
    "AlphaBeta",
    "BiasConvention",
    "Epsilon",
    "Flat",
    "Gamma",
    "LayerRelevance",
    "Pass",
    "Rule",
    "WSquare",
    "ZBox",
    "ZPlus",
    "column_normalised",
    "contributions",
    "divide_or_zero",
    "stabiliser",
]
