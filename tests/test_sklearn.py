"""A fitted MLPClassifier becomes a Network whose probabilities match predict_proba."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from lrp_invariants import predict_proba
from lrp_invariants.bounds import Ball, Precision, enclose_forward, probability_tolerance
from lrp_invariants.sklearn import from_mlp_classifier


def _fit(
    rng: np.random.Generator, n_classes: int, activation: str = "relu"
) -> tuple[MLPClassifier, np.ndarray]:
    x = rng.normal(size=(60, 5))
    y = np.arange(60) % n_classes
    classifier = MLPClassifier(
        hidden_layer_sizes=(7, 6), activation=activation, max_iter=30, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(x, y)
    return classifier, x


@pytest.mark.parametrize("n_classes", [2, 3])
def test_probabilities_match_predict_proba(rng: np.random.Generator, n_classes: int) -> None:
    classifier, x = _fit(rng, n_classes)
    network = from_mlp_classifier(classifier)
    logits = enclose_forward(network, Ball.exact(x)).z[-1]
    bound = probability_tolerance(logits, network.output, Precision.of(network.dtype))
    assert np.all(np.abs(predict_proba(network, x) - classifier.predict_proba(x)) <= bound)


def test_binary_classifier_imports_with_a_logistic_output(rng: np.random.Generator) -> None:
    network = from_mlp_classifier(_fit(rng, 2)[0])
    assert (network.output, network.n_outputs) == ("logistic", 1)


def test_multiclass_classifier_imports_with_a_softmax_output(rng: np.random.Generator) -> None:
    network = from_mlp_classifier(_fit(rng, 3)[0])
    assert (network.output, network.widths) == ("softmax", (5, 7, 6, 3))


def test_import_refuses_other_activations(rng: np.random.Generator) -> None:
    classifier, _ = _fit(rng, 3, activation="tanh")
    with pytest.raises(ValueError, match=r"activation='tanh'.*refit with activation='relu'"):
        from_mlp_classifier(classifier)


def test_import_refuses_an_unfitted_classifier() -> None:
    with pytest.raises(ValueError, match=r"MLPClassifier is not fitted"):
        from_mlp_classifier(MLPClassifier())
