"""A CNN as plain data (the gate's CNN target protocol), and that data in one ``.npz`` file.

A gate target is ``fn(layers, x, classes) -> relevance``; ``layers`` is a list of plain dicts
(numpy arrays, ints, floats, strings, bools, tuples, None and nested lists: none of our classes,
no pickle) named and laid out as torch's modules, so anyone can rebuild the model. Each dict has
a ``"kind"``; weights are torch's, so ``linear``'s weight is ``(out, in)``, Dense.W transposed.

* ``conv``: weight ``(C_out, C_in / groups, *k)``, bias ``(C_out,)``, a bias map
  ``(C_out, *out_spatial)`` or None, stride, padding ``((before, after), ...)`` per spatial axis,
  padding_mode (zeros, constant, reflect, replicate, circular), padding_value, dilation, groups;
* ``batch_norm`` (eval mode): weight (gamma), bias (beta), running_mean, running_var, eps;
* ``relu``; ``flatten`` (C order: torch's ``flatten`` of an NCHW tensor);
* ``max_pool``: kernel_size, stride, padding, dilation, ceil_mode; ``avg_pool``: kernel_size,
  stride, padding, ceil_mode, count_include_pad; ``adaptive_avg_pool``: output_size (tuples);
* ``linear``: weight ``(out, in)``, bias ``(out,)`` or None;
* ``residual``: branch (a list of these dicts), downsample (a ``conv`` dict or None). The block
  computes ``relu(branch(x) + shortcut(x))``, the shortcut ``x`` or ``downsample(x)``: the ReLU
  after the sum belongs to the block (no ``relu`` dict follows it), as in torch's BasicBlock;
  a downsample's batch norm is folded into its convolution.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..network import Array
from .batchnorm import BatchNorm
from .checks import as_tuple
from .conv import Conv
from .model import CNN, Layer
from .pooling import AdaptiveAvgPool, AvgPool, MaxPool
from .residual import Residual
from .simple import Dense, Flatten, ReLU

Spec = dict[str, Any]
_FORMAT = "lrp_invariants.cnn/1"
_Dtypes = list[tuple[str, np.dtype]]


def _pool(name: str, minimum: int) -> Callable[[Any], tuple[int, ...]]:
    """A pooling layer's geometry as one int per spatial axis (the stride defaults to the
    kernel), normalised as the layer itself does."""

    def get(p: Any) -> tuple[int, ...]:
        value = p.kernel if name == "stride" and p.stride is None else getattr(p, name)
        return as_tuple(value, p.dims, name, minimum)

    return get


def _linear(layer_type: type, values: list[Any]) -> Dense:
    weight, bias = values
    if weight.ndim != 2 or (bias is not None and bias.shape != weight.shape[:1]):
        shapes = f"{weight.shape} and bias {None if bias is None else bias.shape}"
        raise ValueError(f"weight must be (out, in) and bias (out,); got weight {shapes}")
    return Dense(np.ascontiguousarray(weight.T), bias)


def _pooling(layer_type: type, values: list[Any]) -> Layer:
    layer: Layer = layer_type(*values, dims=len(values[0]))
    return layer


def _plain(layer_type: type, values: list[Any]) -> Layer:
    layer: Layer = layer_type(*values)
    return layer


_Getter = str | Callable[[Any], Any]
_KINDS: dict[str, tuple[type, tuple[tuple[str, str, _Getter], ...], Callable[..., Layer]]] = {
    "conv": (Conv, (("weight", "array", "weight"), ("bias", "optional", "bias"),
                    ("stride", "ints", "strides"), ("padding", "pairs", "pads"),
                    ("padding_mode", "str", "padding_mode"),
                    ("padding_value", "float", "padding_value"),
                    ("dilation", "ints", "dilations"), ("groups", "int", "groups")), _plain),
    "batch_norm": (BatchNorm, (("weight", "array", "gamma"), ("bias", "array", "beta"),
                               ("running_mean", "array", "mean"), ("running_var", "array", "var"),
                               ("eps", "float", "eps")), _plain),
    "relu": (ReLU, (), _plain),
    "flatten": (Flatten, (), _plain),
    "max_pool": (MaxPool, (("kernel_size", "ints", _pool("kernel", 1)),
                           ("stride", "ints", _pool("stride", 1)),
                           ("padding", "ints", _pool("padding", 0)),
                           ("dilation", "ints", _pool("dilation", 1)),
                           ("ceil_mode", "bool", "ceil_mode")), _pooling),
    "avg_pool": (AvgPool, (("kernel_size", "ints", _pool("kernel", 1)),
                           ("stride", "ints", _pool("stride", 1)),
                           ("padding", "ints", _pool("padding", 0)),
                           ("ceil_mode", "bool", "ceil_mode"),
                           ("count_include_pad", "bool", "count_include_pad")), _pooling),
    "adaptive_avg_pool": (AdaptiveAvgPool, (("output_size", "ints", _pool("output_size", 1)),),
                          _pooling),
    "linear": (Dense, (("weight", "array", lambda d: d.W.T), ("bias", "optional", "b")), _linear),
    "residual": (Residual, (("branch", "layers", "branch"), ("downsample", "conv", "downsample")),
                 _plain),
}  # fmt: skip
"""Each kind: its layer class, its fields (key, type, the layer's attribute or a getter in
torch's convention), and the function that builds the layer from the checked values."""


def _to_spec(layer: Layer, name: str) -> Spec:
    if isinstance(layer, Conv) and layer.constant is not None:
        raise ValueError(
            f"{name}: a Conv with a constant input (net3's internal form) has no spec: the "
            "protocol has no constant inputs (describe net1 and pass the shifted inputs)"
        )
    kind = next(k for k, entry in _KINDS.items() if isinstance(layer, entry[0]))
    spec: Spec = {"kind": kind}
    for key, check, getter in _KINDS[kind][1]:
        value = getter(layer) if callable(getter) else getattr(layer, getter)
        if isinstance(value, np.ndarray):
            value = np.array(value, order="C")  # a fresh copy (Dense.W.T laid out as torch's)
        elif check == "layers":
            value = [_to_spec(a, f"{name}.{key}[{i}]") for i, a in enumerate(value)]
        elif check == "conv" and value is not None:
            value = _to_spec(value, f"{name}.{key}")
        elif check in _SCALARS:
            value = _SCALARS[check](value)
        spec[key] = value
    return spec


def layer_specs(cnn: CNN) -> list[Spec]:
    """The protocol's description of ``cnn``: one plain dict per layer, arrays fresh copies;
    ValueError for a Conv with a constant input (net3's form), which the protocol lacks."""
    return [_to_spec(layer, f"layers[{i}]") for i, layer in enumerate(cnn.layers)]


@contextmanager
def _named(name: str) -> Iterator[None]:
    """Prefix a ValueError or TypeError raised inside with ``name`` (once)."""
    try:
        yield
    except (ValueError, TypeError) as error:
        if str(error).startswith(name):
            raise
        raise type(error)(f"{name}: {error}") from None


def _is_int(v: object) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _is_pair(p: object) -> bool:
    return isinstance(p, tuple | list) and len(p) == 2 and all(map(_is_int, p))


_SCALARS: dict[str, Callable[[Any], Any]] = {"int": int, "float": float, "bool": bool, "str": str}
_CHECKS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "int": ("an int", _is_int),
    "float": ("a float", lambda v: _is_int(v) or isinstance(v, float | np.floating)),
    "bool": ("a bool", lambda v: isinstance(v, bool | np.bool_)),
    "str": ("a str", lambda v: isinstance(v, str)),
    "ints": ("a tuple of ints", lambda v: isinstance(v, tuple | list) and all(map(_is_int, v))),
    "pairs": ("a tuple of (before, after) int pairs",
              lambda v: isinstance(v, tuple | list) and all(map(_is_pair, v))),
    "array": ("a numpy array", lambda v: isinstance(v, np.ndarray)),
    "optional": ("a numpy array or None", lambda v: v is None or isinstance(v, np.ndarray)),
    "layers": ("a nonempty list of layer dicts", lambda v: isinstance(v, list | tuple) and bool(v)),
    "conv": ("a conv dict or None", lambda v: v is None or (isinstance(v, dict)
                                                            and v.get("kind") == "conv")),
}  # fmt: skip


def _array(a: Array, where: str, dtypes: _Dtypes) -> Array:
    """A parameter array checked: real floating, the CNN's one dtype (the first array's),
    finite."""
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"{where} has dtype {a.dtype}; the arrays are float32 or float64")
    if dtypes and a.dtype != dtypes[0][1]:
        raise TypeError(f"{where} has dtype {a.dtype} but {dtypes[0][0]} has {dtypes[0][1]}")
    if not dtypes:
        dtypes.append((where, a.dtype))
    if not np.all(np.isfinite(a)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise ValueError(f"{where} contains {a[bad]} at index {bad}")
    return a


def _value(value: Any, check: str, where: str, shape: tuple[int, ...], dtypes: _Dtypes) -> Any:
    """One field checked for its type and converted; nested layers built."""
    expected, ok = _CHECKS[check]
    if not ok(value):
        raise TypeError(f"{where} must be {expected}; got {value!r:.80}")
    if isinstance(value, np.ndarray):
        return _array(value, where, dtypes)
    if check == "layers":
        return _build(value, where, shape, dtypes)[0]
    if check == "conv" and value is not None:
        return _build_one(value, where, shape, dtypes)[0]
    if check in ("ints", "pairs"):
        return tuple(tuple(map(int, v)) if check == "pairs" else int(v) for v in value)
    return _SCALARS[check](value) if check in _SCALARS else value


def _build_one(
    spec: object, name: str, shape: tuple[int, ...], dtypes: _Dtypes
) -> tuple[Layer, tuple[int, ...]]:
    if not isinstance(spec, dict):
        raise TypeError(f"{name} must be a dict; got {type(spec).__name__}")
    kind = spec.get("kind")
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ValueError(f"{name}: unknown kind {kind!r}; expected one of {sorted(_KINDS)}")
    layer_type, fields, build = _KINDS[kind]
    keys = [key for key, _, _ in fields]
    missing = sorted(set(keys) - spec.keys())
    extra = sorted(map(str, spec.keys() - {"kind", *keys}))
    if missing or extra:
        raise ValueError(f"{name} ({kind}): missing keys {missing}, unexpected keys {extra}")
    values = [_value(spec[k], check, f"{name}.{k}", shape, dtypes) for k, check, _ in fields]
    with _named(name):
        layer = build(layer_type, values)
        return layer, tuple(layer.output_shape(shape))


def _build(
    specs: Sequence[object], where: str, shape: tuple[int, ...], dtypes: _Dtypes
) -> tuple[tuple[Layer, ...], tuple[int, ...]]:
    layers = []
    for i, spec in enumerate(specs):
        layer, shape = _build_one(spec, f"{where}[{i}]", shape, dtypes)
        layers.append(layer)
    return tuple(layers), shape


def cnn_from_specs(layers: Sequence[Spec], input_shape: Sequence[int]) -> CNN:
    """The CNN that ``layers`` (the protocol's dicts) describe, on per-sample inputs of shape
    ``input_shape`` ``(C, *spatial)``; TypeError or ValueError naming ``layers[i]`` (and
    ``layers[i].branch[j]``) before anything is built. The caller's arrays are copied, never
    modified."""
    if not isinstance(layers, list | tuple) or not layers:
        raise TypeError(f"layers must be a nonempty list of dicts; got {layers!r:.80}")
    shape = tuple(input_shape)
    if not shape or not all(_is_int(s) and s >= 1 for s in shape):
        raise ValueError(f"input_shape must be (C, *spatial) of positive ints; got {shape}")
    built, _ = _build(layers, "layers", tuple(int(s) for s in shape), [])
    return CNN(built, shape)


def _format(key: str, value: Any) -> str:
    if isinstance(value, np.ndarray):
        if value.size <= 16:
            text = np.array2string(
                value, separator=", ", formatter={"float_kind": lambda v: repr(float(v))}
            )
            return f"{key}={' '.join(text.split())}"
        return f"{key}={value.shape} in [{float(value.min())!r}, {float(value.max())!r}]"
    return f"{key}={value!r}"


_DEFAULTS = {"padding_mode": "zeros", "padding_value": 0.0, "groups": 1, "ceil_mode": False,
             "count_include_pad": True}  # fmt: skip
"""torch's defaults, left out of descriptions (also stride 1 or the kernel, padding 0,
dilation 1)."""


def _is_default(spec: Spec, key: str, value: Any) -> bool:
    if key in ("stride", "dilation", "padding"):
        flat = np.ravel(np.asarray(value))
        default = spec.get("kernel_size") if key == "stride" else None
        if default is not None:
            return tuple(flat) == tuple(default)
        return bool(np.all(flat == (0 if key == "padding" else 1)))
    return key in _DEFAULTS and value == _DEFAULTS[key]


_Item = tuple[str, Spec, Layer]


def _describe(
    items: Sequence[_Item], shape: tuple[int, ...], indent: str, lines: list[str]
) -> None:
    """One line per (name, spec, layer), a residual block's branch and downsample indented."""
    for name, spec, layer in items:
        out = tuple(layer.output_shape(shape))
        fields = [
            _format(k, v)
            for k, v in spec.items()
            if k not in ("kind", "branch", "downsample") and not _is_default(spec, k, v)
        ]
        lines.append(" ".join([f"{indent}{name}", spec["kind"], *fields, f"-> {out}"]))
        if isinstance(layer, Residual):
            pairs = enumerate(zip(spec["branch"], layer.branch, strict=True))
            _describe([(f"{name}.branch[{j}]", *p) for j, p in pairs], shape, indent + "  ", lines)
            if layer.downsample is not None:
                down = (f"{name}.downsample", spec["downsample"], layer.downsample)
                _describe([down], shape, indent + "  ", lines)
        shape = out


def describe_specs(layers: Sequence[Spec], input_shape: Sequence[int]) -> str:
    """A short text of a CNN for reports: one line per layer with its arrays (values if at most
    16, repr-exact; else shape and range), geometry other than torch's defaults, and the
    per-sample output shape after it."""
    cnn = cnn_from_specs(layers, input_shape)
    lines = [f"CNN on {cnn.input_shape} ({cnn.dtype}) -> {cnn.output_shape}"]
    items = [
        (f"layers[{i}]", s, a) for i, (s, a) in enumerate(zip(layers, cnn.layers, strict=True))
    ]
    _describe(items, cnn.input_shape, "  ", lines)
    return "\n".join(lines)


def _split(value: Any, key: str, arrays: dict[str, Array]) -> Any:
    """The JSON part of a spec value; its arrays go to ``arrays`` under their path."""
    if isinstance(value, np.ndarray):
        arrays[key] = value
        return {"array": key}
    if isinstance(value, dict):
        return {k: _split(v, f"{key}/{k}", arrays) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_split(v, f"{key}/{i}", arrays) for i, v in enumerate(value)]
    return value


def _join(value: Any, data: Any) -> Any:
    """The inverse of :func:`_split`: the arrays put back from the file."""
    if isinstance(value, dict) and set(value) == {"array"}:
        if value["array"] not in data.files:
            raise ValueError(f"no array {value['array']!r}")
        return data[value["array"]]
    if isinstance(value, dict):
        return {k: _join(v, data) for k, v in value.items()}
    if isinstance(value, list):
        return [_join(v, data) for v in value]
    return value


def save_cnn(path: str | os.PathLike[str], cnn: CNN, **arrays: Any) -> None:
    """Write ``cnn`` (its protocol specs) and named ``arrays`` (x1, m, classes ...) to one
    ``.npz`` file at exactly ``path``; the structure is JSON under ``structure``."""
    extra = {k: np.asarray(v) for k, v in arrays.items()}
    for k, a in extra.items():
        if (
            k in ("structure", "file", "allow_pickle")
            or k.startswith("layers/")
            or a.dtype.hasobject
        ):
            raise ValueError(f"array {k!r}: a reserved name or an object array (no pickle)")
    stored: dict[str, Array] = {}
    layers = _split(layer_specs(cnn), "layers", stored)
    structure = {
        "format": _FORMAT,
        "input_shape": list(cnn.input_shape),
        "layers": layers,
        "arrays": sorted(extra),
    }
    text = np.array(json.dumps(structure, allow_nan=False))
    with open(path, "wb") as f:
        np.savez(f, structure=text, **stored, **extra, allow_pickle=False)


def _read(data: Any) -> tuple[CNN, dict[str, Array]]:
    """The CNN and named arrays of an open npz archive; ValueError saying what it lacks."""
    if "structure" not in data.files:
        raise ValueError("no 'structure' entry: not a CNN file of save_cnn")
    text = data["structure"]
    if text.shape != () or text.dtype.kind != "U":
        raise ValueError("'structure' is not a 0-d unicode array")
    structure = json.loads(str(text))
    if not isinstance(structure, dict) or structure.get("format") != _FORMAT:
        raise ValueError(f"'structure' is not of format {_FORMAT!r}")
    missing = [k for k in ("input_shape", "layers", "arrays") if k not in structure]
    if missing:
        raise ValueError(f"'structure' lacks {missing}")
    cnn = cnn_from_specs(_join(structure["layers"], data), structure["input_shape"])
    absent = [k for k in structure["arrays"] if k not in data.files]
    if absent:
        raise ValueError(f"no arrays {absent}")
    return cnn, {k: data[k] for k in structure["arrays"]}


def load_cnn(path: str | os.PathLike[str]) -> tuple[CNN, dict[str, Array]]:
    """The CNN and named arrays :func:`save_cnn` wrote (no pickle); ValueError naming what a
    bad or foreign file lacks."""
    with open(path, "rb") as f:
        try:
            data = np.load(f, allow_pickle=False)
        except (ValueError, zipfile.BadZipFile) as error:
            raise ValueError(f"{path} is not an .npz archive of save_cnn ({error})") from None
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError(f"{path} is a single array, not an .npz archive of save_cnn")
        with data:
            try:
                return _read(data)
            except (ValueError, TypeError) as error:
                raise ValueError(f"{path}: {error}") from None
