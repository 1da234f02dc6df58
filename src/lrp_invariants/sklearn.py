"""Build a :class:`~lrp_invariants.network.Network` from a fitted scikit-learn ``MLPClassifier``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .network import Linear, Network


def from_mlp_classifier(classifier: Any, dtype: type[np.floating] | None = None) -> Network:
    """The network of a fitted ``MLPClassifier`` with ReLU hidden layers, any depth.

    ``predict_proba`` of the result matches the classifier's: softmax for multiclass, logistic
    (columns ``1 - p, p``) for binary problems. ``dtype`` defaults to the classifier's own.
    """
    coefs = getattr(classifier, "coefs_", None)
    intercepts = getattr(classifier, "intercepts_", None)
    if coefs is None or intercepts is None:
        raise ValueError(f"{type(classifier).__name__} is not fitted (no coefs_): call fit first")
    activation = getattr(classifier, "activation", None)
    if activation != "relu":
        raise ValueError(
            f"the classifier uses activation={activation!r}; lrp-invariants supports ReLU "
            f"networks only: refit with activation='relu'"
        )
    output = getattr(classifier, "out_activation_", None)
    if output not in ("softmax", "logistic"):
        raise ValueError(
            f"the classifier's output activation is {output!r}; expected 'softmax' or 'logistic'"
        )
    layers = []
    for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        W = np.asarray(W, dtype=dtype)
        try:
            layers.append(Linear(W, np.asarray(b, dtype=W.dtype)))
        except (TypeError, ValueError) as error:
            raise type(error)(f"layer {i}: {error}") from None
    return Network(tuple(layers), output)
