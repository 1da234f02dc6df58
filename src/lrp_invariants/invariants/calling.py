"""Calling code under test: fresh copies in, the protocol's promises checked on the way out."""

from __future__ import annotations

import warnings

import numpy as np

from ..methods import Target
from ..network import Array, Network


class TargetMisbehaved(AssertionError):
    """The code under test broke the protocol: it raised, hung, returned the wrong shape or
    dtype, returned NaN or inf, or modified its inputs."""


def call_target(target: Target, network: Network, x: Array, classes: Array) -> Array:
    """Run ``target`` on fresh copies of the network and batch, and check its behaviour.

    The result must be a finite (n, d) array of the network's dtype, computed without modifying
    any argument. A call that hangs is the gate's to stop: it wraps the target in a time limit
    (:func:`lrp_invariants.gate.run_property`).
    """
    weights = [w.copy() for w in network.weights]
    biases = [b.copy() for b in network.biases]
    x_in, classes_in = x.copy(), classes.copy()
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # the target's warnings are its own; results count
            result = target(weights, biases, x_in, classes_in)
    except Exception as error:  # the target's own failure is a finding, not a crash of ours
        summary = str(error).splitlines()[0] if str(error) else ""
        raise TargetMisbehaved(f"the target raised {type(error).__name__}: {summary}") from error
    arguments = [("x", x, x_in), ("classes", classes, classes_in)]
    for i in range(network.depth):
        arguments.append((f"weights[{i}]", network.weights[i], weights[i]))
        arguments.append((f"biases[{i}]", network.biases[i], biases[i]))
    for name, before, after in arguments:
        if not np.array_equal(before, after):
            raise TargetMisbehaved(f"the target modified its input {name} in place")
    array = np.asarray(result)
    expected = (x.shape[0], network.n_inputs)
    if array.shape != expected:
        raise TargetMisbehaved(f"the target returned shape {array.shape}; expected {expected}")
    if array.dtype != network.dtype:
        raise TargetMisbehaved(f"the target returned dtype {array.dtype}; expected {network.dtype}")
    if not np.all(np.isfinite(array)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise TargetMisbehaved(f"the target returned {array[bad]} at index {bad}")
    return array
