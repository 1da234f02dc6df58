"""The torch protocol: gate attribution code written for torch models, on CPU or GPU.

Your function takes the model, a batch and the chosen classes, as torch code does::

    def lrp(model: torch.nn.Sequential, x: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        ...

and :func:`torch_target` turns it into a gate target: for every drawn case the gate builds the
``Linear -> ReLU -> ... -> Linear`` model in the case's precision (float32 under
``dtype="float32"``) on ``device``, hands over ``x`` and ``classes`` as tensors there, and takes
back an ``(n, d)`` tensor of the same dtype. Needs the ``torch`` extra.

    from lrp_invariants.gate import check
    from lrp_invariants.torch import torch_target

    check(torch_target(lrp, device="cuda"), "lrp-epsilon", dtype="float32")
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .adapters import from_numpy, to_numpy, torch_mlp
from .network import Array

TorchFunction = Callable[[Any, Any, Any], Any]
"""``fn(model: torch.nn.Sequential, x: Tensor, classes: Tensor) -> Tensor``."""

ArrayTarget = Callable[[Sequence[ArrayLike], Sequence[ArrayLike], ArrayLike, ArrayLike], Array]
"""A gate target (:data:`lrp_invariants.methods.Target`) that also takes array-likes."""

CNNTarget = Callable[[list[dict[str, Any]], ArrayLike, ArrayLike], Array]
"""A target of the gate's CNN protocol, ``fn(layers, x, classes) -> relevance``."""


class DeviceUnavailable(ValueError):
    """The device asked for does not exist on this machine (no CUDA, too few GPUs)."""


def check_device(device: str) -> str:
    """``device`` if torch can place tensors there; :class:`DeviceUnavailable` saying why not,
    before any work."""
    import torch

    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise DeviceUnavailable(f"device {device!r} is not a torch device: {error}") from None
    if chosen.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceUnavailable(
                f"device {device!r}: CUDA is not available here (torch {torch.__version__}, "
                f"built {'with' if torch.version.cuda else 'without'} CUDA)"
            )
        index = chosen.index or 0
        if index >= torch.cuda.device_count():
            raise DeviceUnavailable(
                f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    elif chosen.type != "cpu":
        raise DeviceUnavailable(f"device {device!r}: only cpu and cuda are supported")
    return str(chosen)


def torch_target(fn: TorchFunction, *, device: str = "cpu") -> ArrayTarget:
    """``fn`` in the gate protocol ``target(weights, biases, x, classes) -> relevance`` (and a
    fifth argument, passed on as a tensor, where the method gives one: ``start=given``'s
    relevance, a given baseline).

    The model is built once per call from the case's arrays (no state is kept between calls);
    the relevance must be a tensor of ``x``'s shape and dtype, on any device.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {type(fn).__name__}")
    chosen = check_device(device)

    def target(
        weights: Sequence[ArrayLike],
        biases: Sequence[ArrayLike],
        x: ArrayLike,
        classes: ArrayLike,
        *extra: ArrayLike,
    ) -> Array:
        model = torch_mlp(weights, biases, device=chosen)
        return _call(fn, model, x, classes, chosen, *extra)

    target.__qualname__ = f"torch_target({_name(fn)}, device={chosen!r})"
    return target


def torch_cnn_target(
    fn: TorchFunction, *, device: str = "cpu", residual: str = "add", flatten: str = "module"
) -> CNNTarget:
    """``fn`` in the gate's CNN protocol ``target(layers, x, classes) -> relevance``: each call
    builds the ``nn.Sequential`` of the drawn CNN (:func:`lrp_invariants.adapters.torch_cnn.
    torch_cnn`: torch's own modules, residual blocks written as ``residual`` says: ``add``,
    ``torchvision`` or ``zennit-sum``, its flattening an ``nn.Flatten`` or, ``flatten=
    "functional"``, a call) on ``device`` and hands ``fn`` the model, ``x``
    ``(n, C, *spatial)`` and the classes as tensors; the relevance must be a tensor of ``x``'s
    shape and dtype."""
    from .adapters.torch_cnn import FLATTENS, RESIDUALS

    if not callable(fn):
        raise TypeError(f"fn must be callable; got {type(fn).__name__}")
    if residual not in RESIDUALS:
        raise ValueError(f"residual must be one of {', '.join(RESIDUALS)}; got {residual!r}")
    if flatten not in FLATTENS:
        raise ValueError(f"flatten must be one of {', '.join(FLATTENS)}; got {flatten!r}")
    chosen = check_device(device)

    def target(layers: list[dict[str, Any]], x: ArrayLike, classes: ArrayLike) -> Array:
        from .adapters.torch_cnn import torch_cnn

        batch = np.asarray(x)
        model = torch_cnn(
            layers, batch.shape[1:], device=chosen, residual=residual, flatten=flatten
        )
        return _call(fn, model, batch, classes, chosen)

    target.__qualname__ = f"torch_cnn_target({_name(fn)}, device={chosen!r})"
    return target


def _call(
    fn: TorchFunction, model: Any, x: ArrayLike, classes: ArrayLike, device: str, *extra: ArrayLike
) -> Array:
    """``fn(model, x, classes)`` with ``x`` and ``classes`` as tensors on ``device`` (and the
    method's fifth argument, a baseline or a starting relevance, as a tensor too); its relevance
    back as an array (a TypeError naming ``fn`` if it is no tensor)."""
    import torch

    inputs = from_numpy(x, device)
    targets = torch.from_numpy(np.asarray(classes, dtype=np.int64)).to(device)
    relevance = fn(model, inputs, targets, *(from_numpy(e, device) for e in extra))
    if not isinstance(relevance, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor from {_name(fn)}; got {type(relevance)}")
    return to_numpy(relevance)


def _name(fn: TorchFunction) -> str:
    return str(getattr(fn, "__qualname__", repr(fn)))
