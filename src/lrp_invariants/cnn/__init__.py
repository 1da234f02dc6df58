"""Convolutional networks in the numpy core: layers, forward trace, relevance and gradients.

Layers are frozen, validated dataclasses (:mod:`.conv`, :mod:`.pooling`, :mod:`.batchnorm`,
:mod:`.simple`, :mod:`.residual`); a :class:`CNN` chains them (:mod:`.model`); every linear layer
offers the products rules need (:class:`~lrp_invariants.rules.operator.LinearOperator`), so each
LRP rule is written once (its ``propagate``) and runs at every layer kind (:mod:`.relevance`).
:mod:`.canonize` folds batch norms, :mod:`.constructions` builds the reply's net2 and net3, and
:mod:`.unroll` turns linear layers into dense matrices. :mod:`.integrated` and :mod:`.deeplift`
compute exact integrated gradients and DeepLIFT-Rescale on CNNs; :mod:`.bounds` encloses the
forward pass, the gradient and the relevance.
"""

from .batchnorm import BatchNorm
from .conv import Conv
from .deeplift import deeplift_rescale
from .integrated import integrated_gradients
from .model import CNN, CNNTrace, ResidualTrace, forward
from .pooling import AdaptiveAvgPool, AvgPool, MaxPool
from .protocol import cnn_from_specs, describe_specs, layer_specs, load_cnn, save_cnn
from .relevance import (
    CNNRelevance,
    CNNRules,
    ResidualRelevance,
    explain,
    gradient,
    gradient_x_input,
    logit_relevance,
    lrp,
)
from .residual import Residual
from .simple import Dense, Flatten, ReLU

__all__ = [
    "CNN",
    "AdaptiveAvgPool",
    "AvgPool",
    "BatchNorm",
    "CNNRelevance",
    "CNNRules",
    "CNNTrace",
    "Conv",
    "Dense",
    "Flatten",
    "MaxPool",
    "ReLU",
    "Residual",
    "ResidualRelevance",
    "ResidualTrace",
    "cnn_from_specs",
    "deeplift_rescale",
    "describe_specs",
    "explain",
    "forward",
    "gradient",
    "gradient_x_input",
    "integrated_gradients",
    "layer_specs",
    "load_cnn",
    "logit_relevance",
    "lrp",
    "save_cnn",
]
