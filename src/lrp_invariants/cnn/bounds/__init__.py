"""Enclosures of a CNN's forward pass, gradient and LRP relevance: balls that hold the exact
value and every correct evaluation (direct loops, im2col, the unrolled dense matrix, another
summation order, a batch norm fused into its neighbour or not).

:mod:`.forward` encloses the forward pass and the gradient, :mod:`.relevance` the LRP relevance
with every sink, through :mod:`.local`'s dense matrix of each layer at one output position, and
:mod:`.conservation` bounds how far a correct pass strays from conservation.
"""

from .forward import CNNBalls, ResidualBalls, enclose_cnn_forward, enclose_cnn_gradient
from .relevance import (
    CNNLayerBalls,
    ResidualRelevanceBalls,
    enclose_cnn_relevance,
)

__all__ = [
    "CNNBalls",
    "CNNLayerBalls",
    "ResidualBalls",
    "ResidualRelevanceBalls",
    "enclose_cnn_forward",
    "enclose_cnn_gradient",
    "enclose_cnn_relevance",
]
