"""iNNvestigate's LRP analysers as gate targets ``fn(weights, biases, x, classes) -> relevance``.

Needs the separate venv described in FINDINGS.md (TensorFlow 2.14 + iNNvestigate 2.1.2, Python
3.11), e.g. ``/work/tfenv/bin/python``; it is not importable with the project's own environment.

Importing this module switches TensorFlow to graph mode (iNNvestigate 2.x requires eager
execution to be disabled) and sets Keras' floatx to ``float64`` (``FLOATX`` below), so every
model and every analyser graph is built in float64.

``weights[k]`` is (in, out), ``biases[k]`` is (out,), ``x`` is (n, in), ``classes`` is (n,) int.
The network is ``Dense(relu) -> ... -> Dense(linear)``; the analyser is created with
``neuron_selection_mode="index"`` and analysed with ``neuron_selection=classes`` (one output
neuron per sample). The returned (n, in) relevance starts from the chosen logit's value (see
FINDINGS.md).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

tf.compat.v1.disable_eager_execution()
FLOATX = "float64"
tf.keras.backend.set_floatx(FLOATX)

import innvestigate  # noqa: E402  (must come after the floatx / eager settings)
import innvestigate.analyzer as _ianalyzer  # noqa: E402
import innvestigate.analyzer.relevance_based.relevance_rule as _rrule  # noqa: E402

REQUESTED = [
    "lrp.z",
    "lrp.epsilon",
    "lrp.epsilon_IB",
    "lrp.z_IB",
    "lrp.z_plus",
    "lrp.z_plus_fast",
    "lrp.alpha_1_beta_0",
    "lrp.alpha_1_beta_0_IB",
    "lrp.alpha_2_beta_1",
    "lrp.alpha_2_beta_1_IB",
]
"""Analyser names the campaign asked for."""

AVAILABLE = [name for name in REQUESTED if name in _ianalyzer.analyzers]
MISSING = [name for name in REQUESTED if name not in _ianalyzer.analyzers]
"""``lrp.epsilon_IB`` and ``lrp.z_IB`` are not registered in iNNvestigate 2.1.2."""

Array = np.ndarray


def build_model(weights: Sequence[Array], biases: Sequence[Array]) -> tf.keras.Model:
    """Keras Sequential of Dense layers, ReLU between, linear last layer, in FLOATX."""
    if len(weights) != len(biases) or not weights:
        raise ValueError("need as many bias vectors as weight matrices, at least one")
    layers: list = [tf.keras.Input(shape=(np.shape(weights[0])[0],), dtype=FLOATX)]
    for k, w in enumerate(weights):
        last = k == len(weights) - 1
        layers.append(tf.keras.layers.Dense(np.shape(w)[1], activation=None if last else "relu"))
    model = tf.keras.Sequential(layers)
    flat = []
    for w, b in zip(weights, biases, strict=True):
        flat += [np.asarray(w, dtype=FLOATX), np.asarray(b, dtype=FLOATX)]
    model.set_weights(flat)
    return model


def analyse(
    name: str,
    weights: Sequence[Array],
    biases: Sequence[Array],
    x: Array,
    classes: Sequence[int],
    **analyser_kwargs,
) -> Array:
    """Relevance (n, in) of analyser ``name`` for logit ``classes[s]`` of each sample s."""
    tf.keras.backend.clear_session()  # keep the TF1 default graph small between calls
    model = build_model(weights, biases)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analyser = innvestigate.create_analyzer(
            name, model, neuron_selection_mode="index", **analyser_kwargs
        )
        batch = np.asarray(x, dtype=FLOATX)
        chosen = [int(c) for c in np.asarray(classes).reshape(-1)]
        relevance = analyser.analyze(batch, neuron_selection=chosen)
    return np.asarray(relevance, dtype=np.float64)


def _target(name: str, **analyser_kwargs) -> Callable[..., Array]:
    def fn(weights, biases, x, classes):
        return analyse(name, weights, biases, x, classes, **analyser_kwargs)

    fn.__name__ = "innvestigate_" + name.replace(".", "_")
    fn.__doc__ = f"iNNvestigate {innvestigate.__name__} analyser {name!r} {analyser_kwargs or ''}"
    return fn


TARGETS: dict[str, Callable[..., Array]] = {name: _target(name) for name in AVAILABLE}
"""One gate target per registered analyser name."""


class _ZRuleIgnoreBias(_rrule.ZRule):
    """ZRule(bias=False): relevance_rule.py line 45 takes the flag, LRPZ never passes it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, bias=False, **kwargs)


EXTRA_TARGETS: dict[str, Callable[..., Array]] = {
    # Not registry names: the bias-ignoring variants the missing names would stand for, reached
    # through documented constructor parameters (LRPEpsilon(bias=...) at relevance_analyzer.py
    # line 575; LRP(rule=...) with a ZRule whose bias flag is False).
    "lrp.epsilon(bias=False)": _target("lrp.epsilon", bias=False),
    "lrp(rule=ZRule(bias=False))": _target("lrp", rule=_ZRuleIgnoreBias),
}

# module-level callables, in the style of lrp_invariants.targets
for _name, _fn in TARGETS.items():
    globals()[_fn.__name__] = _fn
innvestigate_lrp_epsilon_ignore_bias = EXTRA_TARGETS["lrp.epsilon(bias=False)"]
innvestigate_lrp_z_ignore_bias = EXTRA_TARGETS["lrp(rule=ZRule(bias=False))"]

if __name__ == "__main__":
    print("tensorflow", tf.__version__, "| floatx", tf.keras.backend.floatx())
    print("available:", AVAILABLE)
    print("missing:", MISSING)
    W = [np.array([[2.0, -1.0], [0.5, 3.0]])]
    B = [np.array([0.3, -0.2])]
    X = np.array([[1.0, 2.0], [-1.0, 0.5]])
    for key, fn in {**TARGETS, **EXTRA_TARGETS}.items():
        print(key, fn(W, B, X, [0, 1]).tolist())
