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

import numpy as np

from .network import Array, Network


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
    if x.ndim != 2 or x.shape[1] != network.n_inputs or x.shape[0] == 0:
        raise BadFile(
            f"{source} has shape {x.shape}; the network takes (n, {network.n_inputs}) with n >= 1"
        )
    if x.dtype.kind not in "fiu":
        raise BadFile(f"{source} has dtype {x.dtype}; expected numbers")
    x = x.astype(network.dtype)
    if not np.all(np.isfinite(x)):
        row = int(np.argwhere(~np.isfinite(x))[0][0])
        raise BadFile(f"{source} has NaN or inf (row {row})")
    return x
