"""The reply's experiment on a CNN, as the gate draws it and holds CNN targets to it.

A :class:`CNNGateCase` answers what the gate's properties ask of a case (:mod:`lrp_invariants.
cases` answers the same for dense networks): net1, a batch ``x1`` ``(n, C, *spatial)``, a shift
``m`` of one input's shape, the chosen classes; net2 (the shift compensated in the first
convolution's bias, a bias map where padding makes it position dependent), net3 as a plain CNN
(``-m`` as extra input channels through the first convolution's weights), and the balls that
give every comparison its tolerance. The CNN target protocol, ``fn(layers, x, classes) ->
relevance`` with ``layers`` the plain dicts of :func:`lrp_invariants.cnn.protocol.layer_specs`,
is registered here with :func:`~lrp_invariants.invariants.calling.register_protocol`; the
properties compare relevance of the input's shape, so a report's index reads ``(sample,
channel, *position)``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from hypothesis import strategies as st
from numpy.typing import NDArray

from .bounds import Ball, Precision, shifted_input
from .cases import show
from .cnn import CNN, Conv
from .cnn.bounds import CNNBalls, enclose_cnn_forward
from .cnn.constructions import check_shift, compensate_shift, without_sources
from .cnn.model import check_batch
from .cnn.protocol import cnn_from_specs, describe_specs, layer_specs, save_cnn
from .cnn.relevance import check_classes
from .invariants.calling import checked_result, invoke, register_protocol, require_unmodified
from .network import Array
from .strategies import CNNSeedCase, cnn_seed_cases

if TYPE_CHECKING:
    from .methods import Method
    from .methods.base import Conservation


Columns = NDArray[np.intp]


def compensation_radius(conv: Conv, m: Array, b2: Array, p: Precision) -> Array:
    """How far net2's computed first bias ``b2 = fl(b1 - fl(conv(m)))`` may lie from the exact
    ``b1 - conv(m)``, per output position: each entry of ``conv(m)`` is a sum of at most
    ``k = C_in / groups * taps`` products (bounded with ``|W|`` and ``|m|`` through the same
    padding), then one subtraction rounds."""
    k = int(np.prod(conv.weight.shape[1:]))
    magnitude = dataclasses.replace(conv, weight=np.abs(conv.weight), bias=None)
    terms = magnitude.operator(m.shape).product(np.abs(m)[None], "W")[0]
    product = p.gamma(k) * terms + k * p.eta
    per_position = b2.reshape(b2.shape + (1,) * (terms.ndim - b2.ndim))  # a bias per channel
    rad = product + p.u * (np.abs(per_position) + product) * (1 + 2 * p.u)
    return np.asarray(p.widen(rad, 4))


@dataclass(frozen=True)
class PlainNet3:
    """net3 as a plain CNN: the first convolution takes ``[x3, -m]`` as ``2C`` channels (per
    group, the group's ``x3`` channels, then its ``-m`` channels, so grouped convolutions keep
    their groups) through ``[W, W]``; ``x_channels``/``m_channels``: where each of net1's
    channels sits in net3's input."""

    cnn: CNN
    x_channels: Columns
    m_channels: Columns

    def input(self, x3: Array, minus_m: Array) -> Array:
        n = x3.shape[0]
        result = np.empty((n, 2 * x3.shape[1], *x3.shape[2:]), dtype=x3.dtype)
        result[:, self.x_channels] = x3
        result[:, self.m_channels] = np.broadcast_to(minus_m, x3.shape)
        return result


def plain_net3(cnn: CNN) -> PlainNet3 | None:
    """net3 as a plain CNN, or None where no plain CNN is net3: a first convolution padded with
    a non-zero constant pads ``-m`` with it too."""
    conv = cnn.layers[0]
    assert isinstance(conv, Conv)
    if conv.padding_mode == "constant" and conv.padding_value != 0:
        return None
    channels = cnn.input_shape[0]
    per_group = channels // conv.groups
    c = np.arange(channels)
    x_channels = 2 * (c // per_group) * per_group + c % per_group
    third = dataclasses.replace(conv, weight=np.concatenate([conv.weight, conv.weight], axis=1))
    shape = (2 * channels, *cnn.input_shape[1:])
    return PlainNet3(CNN((third, *cnn.layers[1:]), shape), x_channels, x_channels + per_group)


@dataclass(frozen=True, eq=False)
class CNNGateCase:
    """net1 (a CNN whose first layer is a convolution), a batch ``x1`` ``(n, C, *spatial)``, a
    shift ``m`` ``(C, *spatial)`` and one chosen class per sample."""

    net1: CNN
    x1: Array
    m: Array
    classes: Array = field(repr=False)
    flush: bool = False
    x0: None = field(default=None, init=False, repr=False)  # CNN methods take no baseline
    data: None = field(default=None, init=False, repr=False)  # nor a data set
    enclosures: dict[tuple[str, str], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def of(cls, case: CNNSeedCase) -> CNNGateCase:
        """The gate's case of a drawn :class:`~lrp_invariants.strategies.CNNSeedCase`."""
        return cls(case.net1, case.x1, case.m, np.asarray(case.classes))

    def __post_init__(self) -> None:
        if not isinstance(self.net1.layers[0], Conv):
            raise ValueError("net1's first layer must be a Conv (net2 and net3 change it)")
        check_batch(self.net1, self.x1, "x1")
        check_shift(self.net1, self.m)
        check_classes(self.net1, self.classes, self.x1.shape[0])

    def under(self, flush: bool) -> CNNGateCase:
        return self if flush == self.flush else dataclasses.replace(self, flush=flush)

    @property
    def precision(self) -> Precision:
        return Precision.of(self.net1.dtype, self.flush)

    @property
    def bulk(self) -> int:
        """How large the case is to read: every layer's output values times samples."""
        return sum(math.prod(shape) for shape in self.net1.shapes) * self.x1.shape[0]

    @cached_property
    def x2(self) -> Array:
        """``x1 + m``, rounded once: what net2 and net3 see."""
        result: Array = self.x1 + self.m
        return result

    @cached_property
    def net2(self) -> CNN:
        return compensate_shift(self.net1, self.m)

    @cached_property
    def _net3(self) -> PlainNet3 | None:
        return plain_net3(self.net1)

    @property
    def plain_net3(self) -> tuple[CNN | None, Array]:
        """net3 as a plain CNN and its input ``[x3, -m]`` (None where no plain CNN is net3)."""
        net3 = self._net3
        if net3 is None:
            return None, self.x2[:0]
        return net3.cnn, net3.input(self.x2, -self.m)

    @property
    def has_plain_net3(self) -> bool:
        """Whether net3 is a plain CNN here (not where the first convolution pads with a
        non-zero constant)."""
        return self._net3 is not None

    @property
    def shift_columns(self) -> tuple[Columns, Columns]:
        """The channels of net3's input holding ``x3`` and ``-m``, in net1's order."""
        assert self._net3 is not None
        return self._net3.x_channels, self._net3.m_channels

    # Balls.

    @cached_property
    def balls1(self) -> CNNBalls:
        return enclose_cnn_forward(self.net1, Ball.exact(self.x1), self.precision)

    @cached_property
    def balls2(self) -> CNNBalls:
        """net2 at ``x2``, enclosing net1's exact pass at ``x1``: ``x2`` and the compensated
        bias each carry their rounding, the bias through the first layer's output balls only.
        So these balls serve methods that read the bias only through the pre-activations (the
        gradient family, the only ones claiming input-invariance on CNNs); an LRP enclosure on
        them would read the rounded bias as exact."""
        p = self.precision
        first = self.net2.layers[0]
        assert isinstance(first, Conv) and first.bias is not None
        radius = compensation_radius(first, self.m, first.bias, p)
        return enclose_cnn_forward(
            self.net2, shifted_input(self.x2, p), p, first_bias_radius=radius
        )

    @cached_property
    def balls3(self) -> CNNBalls:
        net3 = self._net3
        assert net3 is not None
        p = self.precision
        x3 = shifted_input(self.x2, p)
        mid = net3.input(x3.mid, -self.m)
        rad = net3.input(x3.rad, np.zeros_like(self.m))
        return enclose_cnn_forward(net3.cnn, Ball(mid, rad), p)

    def enclose_role(self, method: Method, role: str) -> Ball:
        """``method``'s enclosure on net1, net2 or net3 (the shape of its input)."""
        if role == "net1":
            network, balls = self.net1, self.balls1
        elif role == "net2":
            network, balls = self.net2, self.balls2
        elif role == "net3" and self._net3 is not None:
            network, balls = self._net3.cnn, self.balls3
        else:
            raise ValueError(f"no {role} on this CNN case")
        return method.enclose_cnn(network, balls, self.classes, self.precision)

    @cached_property
    def proxy(self) -> tuple[CNN, Array]:
        """net1 without sources (:func:`~lrp_invariants.cnn.constructions.without_sources`),
        its own bias proxy, and ``x1``: what bias-proxy conservation runs on for a CNN."""
        return without_sources(self.net1), self.x1

    @cached_property
    def proxy_balls(self) -> CNNBalls:
        return enclose_cnn_forward(self.proxy[0], Ball.exact(self.x1), self.precision)

    def conservation(self, method: Method) -> Conservation:
        """What bias-proxy conservation holds ``method``'s targets to on net1 without sources:
        every bias, batch norm shift and padding constant is an always-on input; with none,
        the input relevance adds up to the logit less what the rules keep back."""
        network, balls = self.proxy[0], self.proxy_balls
        return method.cnn_conservation(network, balls, self.classes, self.precision)

    def enclose_on(self, method: Method, network: Any) -> Ball:
        raise ValueError("the gate changes no CNN's channels yet: permutation and rescaling")

    def reference_relevance(self, method: Method) -> Array:
        """This package's relevance for ``method`` on net1 at ``x1``."""
        return np.asarray(method.cnn_relevance(self.net1, self.x1, self.classes))

    def smaller(self) -> Iterator[CNNGateCase]:
        """The case without one of its samples (the reduction step on a CNN case)."""
        n = self.x1.shape[0]
        for i in range(n if n > 1 else 0):
            keep = np.arange(n) != i
            yield CNNGateCase(self.net1, self.x1[keep], self.m, self.classes[keep], self.flush)

    def save(self, path: Path, **meta: np.ndarray) -> None:
        """Write the case to ``path`` (``.npz``: the CNN by :func:`~lrp_invariants.cnn.protocol.
        save_cnn`, ``x1``, ``m``, ``classes``) with ``meta`` beside it."""
        save_cnn(path, self.net1, x1=self.x1, m=self.m, classes=self.classes, **meta)

    def describe(self) -> str:
        """The CNN layer by layer, then ``x1``, ``m`` and the classes (whole if small)."""
        with np.printoptions(precision=17, linewidth=100):
            network = describe_specs(layer_specs(self.net1), self.net1.input_shape)
            return (
                f"{network}\n"
                f"x1 {self.x1.shape} = {show(self.x1)}\nm {self.m.shape} = {show(self.m)}\n"
                f"classes = {show(self.classes)}"
            )


def cnn_gate_cases(max_batch: int = 3, max_blocks: int = 3) -> st.SearchStrategy[CNNGateCase]:
    """The CNN cases the gate draws: :func:`~lrp_invariants.strategies.cnn_seed_cases` (every
    layer kind, padding mode and geometry, ties, kinks, scale regimes, shifts per channel or per
    pixel) as :class:`CNNGateCase`."""
    return cnn_seed_cases(max_blocks=max_blocks, max_batch=max_batch).map(CNNGateCase.of)


@register_protocol
def _call_cnn(
    network: CNN,
    target: Callable[..., Any],
    x: Array,
    classes: Array,
    extra: dict[str, Array],
) -> Array:
    """The CNN protocol: ``target(layers, x, classes)`` on fresh copies; the relevance must
    have ``x``'s shape and dtype."""
    if extra:
        raise ValueError(f"a CNN target takes no fifth argument; got {', '.join(extra)}")
    layers, kept = layer_specs(network), layer_specs(network)
    passed = list(_arrays("layers", layers))  # the very arrays the target is handed
    x_in, classes_in = x.copy(), classes.copy()
    result = invoke(target, layers, x_in, classes_in)
    copies = [array for _, array in _arrays("layers", kept)]
    require_unmodified(
        [
            ("x", x, x_in),
            ("classes", classes, classes_in),
            *((name, copy, array) for (name, array), copy in zip(passed, copies, strict=True)),
        ]
    )
    return checked_result(result, x.shape, network.dtype)


def _arrays(name: str, specs: Any) -> Iterator[tuple[str, Array]]:
    """Every array of a layer list, by its path (``layers[2]['weight']``), in a fixed order."""
    if isinstance(specs, np.ndarray):
        yield name, specs
    elif isinstance(specs, dict):
        for key in specs:
            yield from _arrays(f"{name}[{key!r}]", specs[key])
    elif isinstance(specs, list | tuple):
        for i, item in enumerate(specs):
            yield from _arrays(f"{name}[{i}]", item)


def cnn_reference(method: str | Method) -> Callable[[list[dict[str, Any]], Array, Array], Array]:
    """This package's ``method`` as a target of the CNN protocol: the model a CNN target
    follows, and the gate's own reference.

    >>> check(cnn_reference("lrp-epsilon"), "lrp-epsilon", architecture="cnn")  # doctest: +SKIP
    """
    from .methods import resolve_method  # the methods build on the cases

    chosen = resolve_method(method)

    def target(layers: list[dict[str, Any]], x: Array, classes: Array) -> Array:
        return chosen.cnn_relevance(cnn_from_specs(layers, x.shape[1:]), x, classes)

    target.__qualname__ = f"cnn_reference({chosen.spec!r})"
    return target
