"""ReLU networks as immutable data, and the forward pass that returns a trace.

A network is a chain of dense layers ``Linear(W, b)`` (``W`` of shape ``(in, out)``) with a ReLU
after every layer but the last, whose outputs are the logits. Nothing is stored on a network when
it runs: :func:`forward` returns a :class:`Trace` holding every layer's input and pre-activation
(the reply's ``modules[i].Y``), and every other computation is a pure function of the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

Array = NDArray[np.floating]
OutputActivation = Literal["identity", "softmax", "logistic"]
OUTPUT_ACTIVATIONS: tuple[str, ...] = ("identity", "softmax", "logistic")


def _describe(a: np.ndarray) -> str:
    return f"shape {a.shape} and dtype {a.dtype}"


def _frozen(a: np.ndarray) -> Array:
    """A private, read-only copy: later changes to the caller's array cannot reach the network."""
    copy = np.array(a, copy=True)
    copy.flags.writeable = False
    return copy


def _check_real_floating(a: np.ndarray, name: str) -> None:
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(
            f"{name} has dtype {a.dtype}; pass a real floating array (float64 or float32), "
            f"e.g. {name.split(' ')[0]}.astype(np.float64)"
        )


def _check_finite(a: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        value = a[tuple(bad)]
        raise ValueError(f"{name} contains {value} at index {tuple(int(i) for i in bad)}")


@dataclass(frozen=True, eq=False)
class Linear:
    """A dense layer ``z = a @ W + b``, optionally with a constant second input ``m`` through ``W``.

    ``constant`` is the reply's ``CustomLinear``: a vector fed through the same weights as the
    input, ``z = a @ W + constant @ W + b``, whose relevance is reported apart (``Rm``). net3 of
    the reply's net3 has ``constant = -m`` in its first layer.
    """

    W: Array
    b: Array
    constant: Array | None = None

    def __post_init__(self) -> None:
        W = np.asarray(self.W)
        b = np.asarray(self.b)
        if W.ndim != 2:
            raise ValueError(f"W must be 2-D (in, out); got {_describe(W)}")
        if b.ndim != 1 or b.shape[0] != W.shape[1]:
            raise ValueError(
                f"b must have shape ({W.shape[1]},) to match W of shape {W.shape}; got {b.shape}"
            )
        if 0 in W.shape:
            raise ValueError(f"W must have at least one input and one output; got {W.shape}")
        _check_real_floating(W, "W")
        _check_real_floating(b, "b")
        if b.dtype != W.dtype:
            raise TypeError(f"b has dtype {b.dtype} but W has dtype {W.dtype}; use one dtype")
        _check_finite(W, "W")
        _check_finite(b, "b")
        object.__setattr__(self, "W", _frozen(W))
        object.__setattr__(self, "b", _frozen(b))
        if self.constant is not None:
            c = np.asarray(self.constant)
            if c.shape != (W.shape[0],):
                raise ValueError(
                    f"constant must have shape ({W.shape[0]},) to feed W of shape {W.shape}; "
                    f"got {c.shape}"
                )
            _check_real_floating(c, "constant")
            if c.dtype != W.dtype:
                raise TypeError(f"constant has dtype {c.dtype} but W has dtype {W.dtype}")
            _check_finite(c, "constant")
            object.__setattr__(self, "constant", _frozen(c))

    @property
    def n_in(self) -> int:
        return int(self.W.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.W.shape[1])

    def effective_bias(self) -> Array:
        """``b + constant @ W``: what the constant input adds to every pre-activation."""
        if self.constant is None:
            return self.b
        return self.b + self.constant @ self.W

    @cached_property
    def weight_scale(self) -> float:
        """The largest ``|w_ij|`` (computed once)."""
        return float(np.abs(self.W).max())

    @cached_property
    def W_split(self) -> Array:
        """``[W⁺ | W⁻]`` (in, 2 out): the weights split by sign, side by side (computed once)."""
        split = np.concatenate([np.maximum(self.W, 0), np.minimum(self.W, 0)], axis=1)
        split.flags.writeable = False
        return split

    def split_preactivation(self, a: Array, with_bias: bool = True) -> Array:
        """``[z⁺ | z⁻]`` (n, 2 out): the sums of each output's positive and negative contributions.

        Contributions are ``a_i w_ij``, ``constant_i w_ij`` and ``b_j`` (unless ``with_bias`` is
        False: rules that ignore the bias), each split by its own sign: ``(a w)⁺ = a⁺ w⁺ + a⁻
        w⁻``. For inputs that are all >= 0 (ReLU outputs) this is one matrix product with
        ``[W⁺ | W⁻]``.
        """
        out = self.n_out
        b = self.b if with_bias else np.zeros_like(self.b)
        bias = np.concatenate([np.maximum(b, 0), np.minimum(b, 0)])
        if self.constant is not None:
            bias = bias + _split_product(self.constant[None, :], self.W_split, out)[0]
        split = _split_product(a, self.W_split, out)
        split += bias
        return split


def _split_product(v: Array, W_split: Array, out: int) -> Array:
    """``[(v w)⁺ summed | (v w)⁻ summed]`` for rows ``v`` of any sign."""
    if not np.any(v < 0):
        return v @ W_split
    result = np.maximum(v, 0) @ W_split
    negative = np.minimum(v, 0) @ W_split  # [v⁻ W⁺ | v⁻ W⁻]: v⁻ W⁺ <= 0, v⁻ W⁻ >= 0
    result[:, :out] += negative[:, out:]
    result[:, out:] += negative[:, :out]
    return result


@dataclass(frozen=True, eq=False)
class Network:
    """Linear -> ReLU -> ... -> Linear, with an optional output nonlinearity for probabilities.

    ``output`` only affects :func:`predict_proba`; relevance and gradients always start from
    the logits, the output of the last Linear layer (as in the reply).
    """

    layers: tuple[Linear, ...]
    output: OutputActivation = "identity"

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        if not layers:
            raise ValueError("a network needs at least one Linear layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Linear):
                raise TypeError(f"layer {i}: expected a Linear, got {type(layer).__name__}")
        dtype = layers[0].W.dtype
        for i, layer in enumerate(layers):
            if layer.W.dtype != dtype:
                raise TypeError(f"layer {i}: dtype {layer.W.dtype} differs from layer 0's {dtype}")
            if i > 0 and layer.n_in != layers[i - 1].n_out:
                raise ValueError(
                    f"layer {i}: W has {layer.n_in} inputs but layer {i - 1} has "
                    f"{layers[i - 1].n_out} outputs (W is (in, out): transposed?)"
                )
        if self.output not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"output must be one of {OUTPUT_ACTIVATIONS}; got {self.output!r}")
        object.__setattr__(self, "layers", layers)

    @classmethod
    def from_arrays(
        cls,
        weights: Sequence[ArrayLike],
        biases: Sequence[ArrayLike],
        output: OutputActivation = "identity",
    ) -> Network:
        """Build from ``weights[i]`` (in, out) and ``biases[i]`` (out,), naming a bad layer."""
        if len(weights) != len(biases):
            raise ValueError(f"got {len(weights)} weight matrices but {len(biases)} bias vectors")
        layers = []
        for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
            try:
                layers.append(Linear(np.asarray(W), np.asarray(b)))
            except (TypeError, ValueError) as error:
                raise type(error)(f"layer {i}: {error}") from None
        return cls(tuple(layers), output)

    @property
    def dtype(self) -> np.dtype[np.floating]:
        return self.layers[0].W.dtype

    def astype(self, dtype: DTypeLike) -> Network:
        """The same network with every weight and bias rounded to ``dtype`` (itself if it is
        already of that dtype). Constant inputs (net3's) are not supported here."""
        if np.dtype(dtype) == self.dtype:
            return self
        if any(layer.constant is not None for layer in self.layers):
            raise ValueError("astype: give a plain network, not one with constant inputs")
        return Network.from_arrays(
            [w.astype(dtype) for w in self.weights],
            [b.astype(dtype) for b in self.biases],
            self.output,
        )

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out

    @property
    def depth(self) -> int:
        """The number of Linear layers."""
        return len(self.layers)

    @property
    def widths(self) -> tuple[int, ...]:
        """Input width, then every layer's output width."""
        return (self.n_inputs, *(layer.n_out for layer in self.layers))

    @property
    def weights(self) -> list[Array]:
        return [layer.W for layer in self.layers]

    @property
    def biases(self) -> list[Array]:
        return [layer.b for layer in self.layers]

    def __repr__(self) -> str:
        sizes = "-".join(str(w) for w in self.widths)
        return f"Network({sizes}, dtype={self.dtype}, output={self.output!r})"


@dataclass(frozen=True, eq=False)
class LayerTrace:
    """One Linear layer's part of a trace: its input, pre-activation and, if computed, the
    pre-activation split into its positive and negative parts ``[z⁺ | z⁻]`` (n, 2 out)."""

    a: Array
    z: Array
    z_split: Array | None = None


@dataclass(frozen=True, eq=False)
class Trace:
    """Every layer's input ``a[l]`` and pre-activation ``z[l]`` for one batch.

    ``a[0]`` is the batch itself; ``a[l + 1] = relu(z[l])``; ``z[-1]`` are the logits.
    ``z_split[l]`` is ``[z⁺ | z⁻]`` where the forward pass was asked for it (sign-split rules use
    it), else None.
    """

    a: tuple[Array, ...]
    z: tuple[Array, ...]
    z_split: tuple[Array | None, ...] = ()

    def layer(self, index: int) -> LayerTrace:
        split = self.z_split[index] if self.z_split else None
        return LayerTrace(self.a[index], self.z[index], split)

    @property
    def logits(self) -> Array:
        return self.z[-1]

    @property
    def outputs(self) -> tuple[Array, ...]:
        """Each Linear layer's output after its nonlinearity (ReLU, none for the last)."""
        return (*self.a[1:], self.z[-1])


def check_input(network: Network, x: ArrayLike, name: str = "x") -> Array:
    """Validate a batch for ``network`` and return it as an array; raise before any work."""
    array = check_shape(network, x, name)
    _check_finite(array, name)
    return array


def check_shape(network: Network, x: ArrayLike, name: str = "x") -> Array:
    """Check a batch's shape and dtype (not its values: that takes a pass over the data)."""
    array = np.asarray(x)
    if array.ndim != 2:
        hint = f" (a single sample: {name}[None, :])" if array.ndim == 1 else ""
        raise ValueError(
            f"{name} must be 2-D (n, {network.n_inputs}){hint}; got {_describe(array)}"
        )
    if array.shape[1] != network.n_inputs:
        raise ValueError(
            f"{name} has {array.shape[1]} features but the network takes {network.n_inputs}"
        )
    _check_real_floating(array, name)
    if array.dtype != network.dtype:
        raise TypeError(
            f"{name} has dtype {array.dtype} but the network is {network.dtype}; "
            f"convert one of them explicitly"
        )
    return array


def check_classes(network: Network, classes: ArrayLike, n: int) -> NDArray[np.intp]:
    """Validate one chosen output index per sample."""
    array = np.asarray(classes)
    if array.shape != (n,):
        raise ValueError(f"classes must have shape ({n},), one per sample; got {array.shape}")
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"classes must be integers; got dtype {array.dtype}")
    if n and (array.min() < 0 or array.max() >= network.n_outputs):
        bad = int(array[(array < 0) | (array >= network.n_outputs)][0])
        raise ValueError(f"class {bad} is out of range for {network.n_outputs} outputs")
    return array.astype(np.intp, copy=False)


def blocks(dtype: np.dtype[np.floating], *shapes: tuple[int, ...]) -> list[Array]:
    """Uninitialised C-contiguous arrays of ``shapes``, carved out of one allocation.

    numpy asks the kernel for huge pages from 4 MiB on; a pass that creates many arrays just
    below that size (a float32 batch of 1000 by 1024 units is 3.9 MiB) otherwise pays one page
    fault per 4 KiB of each. The arrays share one base and never overlap."""
    sizes = [int(np.prod(shape)) for shape in shapes]
    arena = np.empty(sum(sizes), dtype=dtype)
    result, start = [], 0
    for shape, size in zip(shapes, sizes, strict=True):
        result.append(arena[start : start + size].reshape(shape))
        start += size
    return result


def forward(network: Network, x: ArrayLike, sign_split: bool | Sequence[bool] = False) -> Trace:
    """Run a batch ``x`` of shape ``(n, d)`` through ``network`` and return the full trace.

    Layers with ``sign_split`` get ``z = z⁺ + z⁻`` from one product with ``[W⁺ | W⁻]`` and keep
    ``[z⁺ | z⁻]`` in the trace, which is what the αβ rules divide by.
    """
    split_layers = [sign_split] * network.depth if isinstance(sign_split, bool) else sign_split
    if len(split_layers) != network.depth:
        raise ValueError(f"sign_split needs one flag per layer ({network.depth})")
    a = check_input(network, x).view()
    a.flags.writeable = False
    n, last = a.shape[0], network.depth - 1
    # every layer's z and activation, in one allocation (see blocks)
    shapes = [(n, layer.n_out) for layer in network.layers]
    arrays = iter(blocks(network.dtype, *shapes, *shapes[:last]))
    zs = [next(arrays) for _ in shapes]
    inputs, pre, splits = [a], [], []
    for i, layer in enumerate(network.layers):
        split, z = None, zs[i]
        if split_layers[i]:
            split = layer.split_preactivation(a)
            np.add(split[:, : layer.n_out], split[:, layer.n_out :], out=z)
        else:
            np.matmul(a, layer.W, out=z)
            z += layer.effective_bias()
        pre.append(z)
        splits.append(split)
        if i < last:
            a = np.maximum(z, 0, out=next(arrays))
            inputs.append(a)
    return Trace(tuple(inputs), tuple(pre), tuple(splits))


STARTS = ("logit", "one", "probability", "given")
"""Where LRP's relevance starts: the chosen class's ``logit`` (the default), ``one`` (a one-hot
of the class, as Zennit's ``attributor(x, one_hot)``), its softmax ``probability``, or
``given``: any (n, outputs) array, a fifth argument ``relevance`` of the code under test."""

COMPUTED_STARTS = STARTS[:3]  # from the logits

Start = str | NDArray[np.floating]
"""A start's name, or the (n, outputs) relevance itself (a ``given`` start)."""


def check_start(start: Start) -> str:
    """The start's name (``given`` for an array), or ValueError naming the starts there are."""
    if not isinstance(start, str):
        return "given"
    if start not in STARTS:
        raise ValueError(f"unknown start {start!r}; choose one of {', '.join(STARTS)}")
    return start


def starting_relevance(classes: NDArray[np.intp], logits: Array, start: Start = "logit") -> Array:
    """(n, outputs): the chosen class's logit (``start="logit"``), 1 (``"one"``) or softmax
    probability (``"probability"``, in the stable form: the largest logit subtracted first),
    zero for the other outputs; or the relevance given (an array, checked)."""
    if check_start(start) == "given":
        if isinstance(start, str):
            raise ValueError("start='given' needs the relevance itself: pass the array as start")
        given = np.asarray(start)
        if given.shape != logits.shape:
            raise ValueError(f"the starting relevance must have the logits' shape {logits.shape}")
        if given.dtype != logits.dtype:
            raise TypeError(f"the starting relevance has dtype {given.dtype}; use {logits.dtype}")
        if not np.all(np.isfinite(given)):
            raise ValueError("the starting relevance contains NaN or inf")
        return np.array(given, copy=True)
    selector = one_hot(classes, logits.shape[1], logits.dtype)
    if start == "one":
        return selector
    if start == "probability":
        with np.errstate(under="ignore"):
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
        result: Array = selector * (e / e.sum(axis=1, keepdims=True))
        return result
    return selector * logits


def one_hot(classes: NDArray[np.intp], n_outputs: int, dtype: np.dtype[np.floating]) -> Array:
    selector = np.zeros((classes.shape[0], n_outputs), dtype=dtype)
    selector[np.arange(classes.shape[0]), classes] = 1
    return selector


def gradient(network: Network, trace: Trace, classes: ArrayLike) -> Array:
    """d logit[class] / d x per sample: the reply's sensitivity map. ReLU'(0) is taken as 0."""
    chosen = check_classes(network, classes, trace.a[0].shape[0])
    g = one_hot(chosen, network.n_outputs, network.dtype)
    for i in range(network.depth - 1, -1, -1):
        g = g @ network.layers[i].W.T
        if i > 0:
            g *= trace.z[i - 1] > 0
    return g


def predict_proba(network: Network, x: ArrayLike) -> Array:
    """Probabilities as scikit-learn's ``predict_proba`` computes them from the logits.

    ``softmax``: row-wise softmax. ``logistic`` with one output: the columns ``1 - p, p`` of a
    binary classifier; with several outputs: the elementwise sigmoid (multilabel).
    """
    logits = forward(network, x).logits
    if network.output == "softmax":
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    if network.output == "logistic":
        p = 0.5 * (1 + np.tanh(0.5 * logits))
        return np.hstack([1 - p, p]) if network.n_outputs == 1 else p
    return logits
