"""A user's own network and inputs as plain files: ``.npz`` of arrays, ``.npy``, never pickle.

A network file holds ``W0, b0, W1, b1, ...`` (``W{i}`` of shape (in, out), ``b{i}`` of shape
(out,)) and optionally ``output`` (``identity``, ``softmax`` or ``logistic``);
:func:`save_network` writes one, the demo saves its trained digits network that way. An inputs
file is one (n, d) float array. Every problem is a :class:`BadFile` naming the file and what is
wrong with it, found before any work.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .network import Array, Network

if TYPE_CHECKING:
    from .cnn import CNN


class BadFile(ValueError):
    """A network or inputs file that cannot be used: the message says why."""


def save_network(network: Network, path: Path | str) -> Path:
    """Write ``network`` as ``W0, b0, ...`` and ``output`` (plain arrays)."""
    arrays: dict[str, Array] = {}
    for i, layer in enumerate(network.layers):
        if layer.constant is not None:
            raise ValueError("save a network without constant inputs (not a net3)")
        arrays[f"W{i}"], arrays[f"b{i}"] = layer.W, layer.b
    target = Path(path)
    np.savez(target, output=np.array(network.output), **arrays)  # type: ignore[arg-type]
    return target if target.suffix == ".npz" else target.with_suffix(target.suffix + ".npz")


def load_network(path: Path | str) -> Network:
    """The network in ``path`` (see the module's docstring); :class:`BadFile` if unusable."""
    source = Path(path)
    try:
        with np.load(source, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except FileNotFoundError:
        raise BadFile(f"{source}: no such file") from None
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as error:
        reason = "it holds objects that would need pickle" if "pickle" in str(error) else error
        raise BadFile(f"{source} is not an .npz of plain arrays: {reason}") from None
    if not isinstance(arrays, dict) or "W0" not in arrays:
        raise BadFile(f"{source} has no W0: a network file holds W0, b0, W1, b1, ...")
    depth = 0
    while f"W{depth}" in arrays:
        depth += 1
    missing = [f"b{i}" for i in range(depth) if f"b{i}" not in arrays]
    if missing:
        raise BadFile(f"{source} lacks {', '.join(missing)}")
    unknown = sorted(
        set(arrays) - {f"W{i}" for i in range(depth)} - {f"b{i}" for i in range(depth)} - {"output"}
    )
    if unknown:
        raise BadFile(f"{source} has arrays this format does not know: {', '.join(unknown)}")
    output = str(arrays["output"]) if "output" in arrays else "identity"
    try:
        return Network.from_arrays(
            [arrays[f"W{i}"] for i in range(depth)],
            [arrays[f"b{i}"] for i in range(depth)],
            output,  # type: ignore[arg-type]
        )
    except (TypeError, ValueError) as error:
        raise BadFile(f"{source}: {error}") from None


def load_inputs(path: Path | str, network: Network) -> Array:
    """The (n, d) inputs in ``path``, in the network's dtype; :class:`BadFile` if unusable."""
    return load_batch(path, (network.n_inputs,), network.dtype, "the network")


def load_batch(path: Path | str, shape: tuple[int, ...], dtype: np.dtype[Any], taker: str) -> Array:
    """The ``(n, *shape)`` inputs in ``path`` as ``dtype``; :class:`BadFile` if unusable
    (``taker`` names what takes them, in the message)."""
    source = Path(path)
    try:
        x = np.load(source, allow_pickle=False)
    except FileNotFoundError:
        raise BadFile(f"{source}: no such file") from None
    except (OSError, EOFError, ValueError) as error:
        reason = "it holds objects that would need pickle" if "pickle" in str(error) else error
        raise BadFile(f"{source} is not an .npy of numbers: {reason}") from None
    if not isinstance(x, np.ndarray):
        raise BadFile(f"{source} holds several arrays; save the inputs alone with np.save")
    if x.shape[1:] != shape or x.shape[0] == 0:
        wanted = ", ".join(map(str, shape))
        raise BadFile(f"{source} has shape {x.shape}; {taker} takes (n, {wanted}) with n >= 1")
    if x.dtype.kind not in "fiu":
        raise BadFile(f"{source} has dtype {x.dtype}; expected numbers")
    x = x.astype(dtype)
    if not np.all(np.isfinite(x)):
        row = int(np.argwhere(~np.isfinite(x))[0][0])
        raise BadFile(f"{source} has NaN or inf (row {row})")
    return x


def load_cnn_file(path: Path | str) -> CNN:
    """The CNN in ``path`` (written by :func:`lrp_invariants.cnn.save_cnn`: its layers as
    plain arrays and a JSON structure); :class:`BadFile` if unusable."""
    from .cnn.protocol import load_cnn  # the dense files need none of the CNN modules

    source = Path(path)
    if not source.exists():
        raise BadFile(f"{source}: no such file")
    try:
        return load_cnn(source)[0]
    except (OSError, EOFError, ValueError, TypeError, KeyError, zipfile.BadZipFile) as error:
        raise BadFile(f"{source} is not a CNN saved by save_cnn: {error}") from None
