"""Calling code under test: fresh copies in, the protocol's promises checked on the way out.

:func:`call_target` dispatches on the network's type (``functools.singledispatch``): the dense
protocol ``fn(weights, biases, x, classes)`` is registered here, the CNN protocol
``fn(layers, x, classes)`` by :mod:`lrp_invariants.cnn_cases`. Either way the properties see
relevance of the input's shape, one row per sample."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from functools import singledispatch
from typing import Any

import numpy as np

from ..methods import Target
from ..network import Array, Network


class TargetMisbehaved(AssertionError):
    """The code under test broke the protocol: it raised, hung, returned the wrong shape or
    dtype, returned NaN or inf where its exact value is bounded, or modified its inputs."""


class TargetUnsupported(TargetMisbehaved):
    """The code under test says it does not handle the case (it raised NotImplementedError: a
    layer it has no rule for): not a defect, and not a pass either."""


def call_target(
    target: Target,
    network: Any,
    x: Array,
    classes: Array,
    **extra: Array | None,
) -> Array:
    """Run ``target`` on ``network`` in the protocol of the network's kind, on fresh copies;
    its relevance (the input's shape), checked as the protocol promises. ``extra`` is what the
    method gives its targets besides (``baseline``, ``data`` or ``relevance``: at most one, a
    fifth argument; None: not given)."""
    given = {name: value for name, value in extra.items() if value is not None}
    if len(given) > 1:
        raise ValueError(f"a target takes at most one fifth argument; got {', '.join(given)}")
    return _call(network, target, x, classes, given)


@singledispatch
def _call(
    network: Any,
    target: Target,
    x: Array,
    classes: Array,
    extra: dict[str, Array],
) -> Array:
    from .. import cnn_cases  # noqa: F401  registers the CNN protocol (it builds on this module)

    if _call.dispatch(type(network)) is not _call.dispatch(object):  # registered just now
        return _call(network, target, x, classes, extra)
    raise TypeError(f"no target protocol for a {type(network).__name__}")


register_protocol = _call.register
"""Register the target protocol of another kind of network (``@register_protocol``)."""


@_call.register
def _dense(
    network: Network,
    target: Target,
    x: Array,
    classes: Array,
    extra: dict[str, Array],
) -> Array:
    """Run ``target`` on fresh copies of the network and batch (and of the ``baseline``, the
    ``data`` or the starting ``relevance``, passed as a fifth argument where the method takes
    one), and check its behaviour.

    The result must be an (n, d) array of the network's dtype, computed without modifying any
    argument. Its values are judged by the comparisons that use them: NaN or inf is a defect
    wherever the method's exact value is bounded (a finite tolerance), and allowed where it is
    not (a denominator that may be within rounding of zero can make the exact value overflow).
    A call that hangs is the gate's to stop: it wraps the target in a time limit
    (:func:`lrp_invariants.gate.run_property`).
    """
    weights = [w.copy() for w in network.weights]
    biases = [b.copy() for b in network.biases]
    x_in, classes_in = x.copy(), classes.copy()
    fifth = list(extra.items())
    copies = [a.copy() for _, a in fifth]
    result = invoke(target, weights, biases, x_in, classes_in, *copies)
    arguments = [("x", x, x_in), ("classes", classes, classes_in)]
    for (name, given), passed in zip(fifth, copies, strict=True):
        arguments.append((name, given, passed))
    for i in range(network.depth):
        arguments.append((f"weights[{i}]", network.weights[i], weights[i]))
        arguments.append((f"biases[{i}]", network.biases[i], biases[i]))
    require_unmodified(arguments)
    return checked_result(result, (x.shape[0], network.n_inputs), network.dtype)


def invoke(target: Callable[..., Any], *arguments: Any) -> Any:
    """Call the code under test: its warnings are its own, its exception a finding (raised as
    :class:`TargetMisbehaved`), never a crash of the gate."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # the target's warnings are its own; results count
            return target(*arguments)
    except NotImplementedError as error:  # the target declines the case: say so, by name
        summary = str(error).splitlines()[0] if str(error) else ""
        raise TargetUnsupported(f"the target does not support this case: {summary}") from error
    except Exception as error:  # the target's own failure is a finding, not a crash of ours
        summary = str(error).splitlines()[0] if str(error) else ""
        raise TargetMisbehaved(f"the target raised {type(error).__name__}: {summary}") from error


def require_unmodified(arguments: Iterable[tuple[str, Any, Any]]) -> None:
    """Each ``(name, given, passed)``: the copy passed must still equal what was given."""
    for name, before, after in arguments:
        if not np.array_equal(before, after):
            raise TargetMisbehaved(f"the target modified its input {name} in place")


def checked_result(result: Any, shape: tuple[int, ...], dtype: np.dtype[Any]) -> Array:
    """The target's result as an array of the expected shape and dtype, or TargetMisbehaved."""
    array = np.asarray(result)
    if array.shape != shape:
        raise TargetMisbehaved(f"the target returned shape {array.shape}; expected {shape}")
    if array.dtype != dtype:
        raise TargetMisbehaved(f"the target returned dtype {array.dtype}; expected {dtype}")
    return array
