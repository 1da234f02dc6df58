"""lrp-invariants: verify attribution code with the invariants of input-shifted ReLU networks.

The core is a small numpy implementation of LRP whose every relevance sink is visible; on top of
it sit Hypothesis strategies, a property suite and a gate for other people's attribution code.

"The reply", in this package's docstrings, is S. Lapuschkin's answer to P.-J. Kindermans et al.,
"The (Un)reliability of saliency methods" (arXiv:1711.00867, 2017; in *Explainable AI*, LNCS
11700, 2019): a notebook that repeats their shifted-input experiment with LRP and shows that the
relevance leaving the input goes to the first bias. Its names (net1, net2, net3, ``Rb``, ``Rm``)
are used here.
"""

from .constructions import (
    bias_proxy,
    compensate_shift,
    net3_as_plain_network,
    proxy_input,
    shift_as_input,
    split_proxy_relevance,
    zero_first_bias,
)
from .network import Linear, Network, Trace, forward, gradient, predict_proba
from .relevance import Relevance, explain, logit_relevance, lrp
from .rules import (
    LRP0,
    AlphaBeta,
    Epsilon,
    Flat,
    Gamma,
    LayerRelevance,
    Rule,
    WSquare,
    ZBox,
    ZPlus,
)

__version__ = "0.1.0"

__all__ = [
    "LRP0",
    "AlphaBeta",
    "Epsilon",
    "Flat",
    "Gamma",
    "LayerRelevance",
    "Linear",
    "Network",
    "Relevance",
    "Rule",
    "Trace",
    "WSquare",
    "ZBox",
    "ZPlus",
    "__version__",
    "bias_proxy",
    "compensate_shift",
    "explain",
    "forward",
    "gradient",
    "logit_relevance",
    "lrp",
    "net3_as_plain_network",
    "predict_proba",
    "proxy_input",
    "shift_as_input",
    "split_proxy_relevance",
    "zero_first_bias",
]
