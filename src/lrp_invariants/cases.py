"""One instance of the reply's experiment: net1, a batch x1, a shift m and the chosen classes.

Everything else — net2, net3, the bias proxy, their inputs and the balls that give each
comparison its tolerance — is derived from these four and computed once per case.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .bounds import (
    Ball,
    ForwardBalls,
    Precision,
    compensated_bias,
    enclose_forward,
    shifted_input,
)
from .bounds.patterns import enclose_pattern_method
from .constructions import (
    bias_proxy,
    compensate_shift,
    net3_as_plain_network,
    proxy_input,
    shift_as_input,
)
from .network import Array, Network, check_classes, check_input
from .patterns import check_data

if TYPE_CHECKING:
    from .methods import Method
    from .methods.base import Conservation


SHOWN_WHOLE = 64
"""Arrays up to this many entries are printed whole in a report; larger ones by their corners."""


def show(values: Array) -> str:
    """An array as a report prints it: whole if small, by its corners if not."""
    if values.size <= SHOWN_WHOLE:
        return str(values.tolist())
    return np.array2string(values, threshold=SHOWN_WHOLE, edgeitems=2, separator=", ")


@dataclass(frozen=True, eq=False)
class SeedCase:
    """net1 with a batch ``x1`` (n, d), a shift ``m`` (d,) and one chosen class per sample."""

    net1: Network
    x1: Array
    m: Array
    classes: Array = field(repr=False)
    flush: bool = False  # the arithmetic code under test is held to: see Precision
    # a reference batch (n, d) for methods that explain against a given baseline; None: zeros
    x0: Array | None = field(default=None, repr=False)
    # a data set (N, d) for methods that learn from one (PatternNet, PatternAttribution); net2
    # learns from ``data + m``, the data it sees
    data: Array | None = field(default=None, repr=False)
    # the relevance (n, outputs) LRP starts from where the caller gives it (``start=given``)
    relevance: Array | None = field(default=None, repr=False)
    # enclosures already computed for this case, by (method spec, network name): every property
    # of a gate run checks the same case, and most of them need net1's
    enclosures: dict[tuple[str, str], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def under(self, flush: bool) -> SeedCase:
        """The same case, checked under the other arithmetic model."""
        return self if flush == self.flush else replace(self, flush=flush)

    def __post_init__(self) -> None:
        check_input(self.net1, self.x1, "x1")
        check_input(self.net1, np.asarray(self.m)[None, :], "m")
        check_classes(self.net1, self.classes, self.x1.shape[0])
        if self.x0 is not None:
            check_input(self.net1, self.x0, "x0")
            if self.x0.shape != self.x1.shape:
                raise ValueError(f"x0 has shape {self.x0.shape}; x1 has {self.x1.shape}")
        if self.data is not None:
            check_data(self.net1, self.data)
        if self.relevance is not None:
            expected = (self.x1.shape[0], self.net1.n_outputs)
            if self.relevance.shape != expected or self.relevance.dtype != self.net1.dtype:
                raise ValueError(
                    f"the starting relevance must be {expected} {self.net1.dtype}; got "
                    f"{self.relevance.shape} {self.relevance.dtype}"
                )
            if not np.all(np.isfinite(self.relevance)):
                raise ValueError("the starting relevance contains NaN or inf")

    @cached_property
    def reference_case(self) -> ReferenceCase:
        """This case with its reference (zeros where it has none), for DeepLIFT and integrated
        gradients."""
        x0 = self.x0 if self.x0 is not None else np.zeros_like(self.x1)
        return ReferenceCase(self, x0)

    def __repr__(self) -> str:
        return (
            f"SeedCase(net1={self.net1!r}, n={self.x1.shape[0]}, "
            f"|x1| <= {np.abs(self.x1).max():.3g}, |m| <= {np.abs(self.m).max():.3g}, "
            f"classes={self.classes.tolist()})"
        )

    @property
    def precision(self) -> Precision:
        return Precision.of(self.net1.dtype, self.flush)

    @cached_property
    def x2(self) -> Array:
        """The shifted batch ``x1 + m`` that net2 and net3 see (rounded once)."""
        return self.x1 + self.m

    @cached_property
    def net2(self) -> Network:
        return compensate_shift(self.net1, self.m)

    @cached_property
    def net3(self) -> Network:
        return shift_as_input(self.net1, self.m)

    @cached_property
    def plain_net3(self) -> tuple[Network, Array]:
        """net3 as a plain MLP on ``[x3, -m]`` and that input."""
        network, constant = net3_as_plain_network(self.net1, self.m)
        return network, np.hstack([self.x2, np.broadcast_to(constant, self.x2.shape)])

    @cached_property
    def proxy(self) -> tuple[Network, Array]:
        """The bias-proxy network and its input ``[x1, 1, ..., 1]``."""
        return bias_proxy(self.net1), proxy_input(self.net1, self.x1)

    # What the gate asks of every case, whatever its network (lrp_invariants.cnn_cases answers
    # the same for CNNs).

    @property
    def bulk(self) -> int:
        """How large the case is to read: units in all layers times samples."""
        return sum(self.net1.widths) * self.x1.shape[0]

    has_plain_net3 = True
    """Whether net3 is a plain network of the target protocol (always, for an MLP)."""

    @property
    def shift_columns(self) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Where net3's plain input (:attr:`plain_net3`) holds ``x3`` and ``-m`` on axis 1."""
        d = self.net1.n_inputs
        return np.arange(d), np.arange(d, 2 * d)

    def enclose_role(self, method: Method, role: str) -> Ball:
        """``method``'s enclosure on the network of ``role`` (``net1``, ``net2``, ``net3`` as a
        plain MLP, ``proxy``) at its input, from that network's forward balls."""
        network, balls = {
            "net1": lambda: (self.net1, self.balls1),
            "net2": lambda: (self.net2, self.balls2),
            "net3": lambda: (self.plain_net3[0], self.plain_balls3),
            "proxy": lambda: (self.proxy[0], self.proxy_balls),
        }[role]()
        return method.enclose_for(self, network, balls)

    def conservation(self, method: Method) -> Conservation:
        """What bias-proxy conservation holds ``method``'s targets to on this case's proxy."""
        return method.conservation(self)

    def enclose_on(self, method: Method, network: Network) -> Ball:
        """``method``'s enclosure at ``x1`` on ``network``, a transformed net1."""
        forward = enclose_forward(network, Ball.exact(self.x1), p=self.precision)
        return method.enclose_for(self, network, forward)

    def reference_relevance(self, method: Method) -> Array:
        """This package's relevance for ``method`` on net1 at ``x1`` (with the case's
        reference or data where the method takes one)."""
        extra = list(method.arguments(self).values())
        reference = method.reference
        return np.asarray(
            reference(self.net1.weights, self.net1.biases, self.x1, self.classes, *extra)
        )

    def smaller(self) -> Iterator[SeedCase]:
        """Every case one removal (a sample, an input, a unit) smaller: the reduction step."""
        from .reduce import smaller_cases  # reduce builds on this module

        return smaller_cases(self)

    def save(self, path: Path, **meta: np.ndarray) -> None:
        """Write the case to ``path`` (``.npz``, plain arrays: ``W0, b0, ...``, ``x1``, ``m``,
        ``classes``, the reference or data if any) with ``meta`` beside it."""
        arrays: dict[str, np.ndarray] = {
            "x1": self.x1,
            "m": self.m,
            "classes": self.classes,
            "depth": np.array(self.net1.depth),
            **meta,
        }
        if self.x0 is not None:
            arrays["x0"] = self.x0
        if self.data is not None:
            arrays["data"] = self.data
        if self.relevance is not None:
            arrays["relevance"] = self.relevance
        for i, (W, b) in enumerate(zip(self.net1.weights, self.net1.biases, strict=True)):
            arrays[f"W{i}"], arrays[f"b{i}"] = W, b
        np.savez(path, **arrays)  # type: ignore[arg-type]

    def describe(self) -> str:
        """Sizes and values, small enough to read: every value of a small case (to the last
        digit, so that it can be typed back), the corners of a large one (the saved .npz
        holds it whole)."""
        with np.printoptions(precision=17, linewidth=100):
            weights = "; ".join(
                f"W{i}={show(w)} b{i}={show(b)}"
                for i, (w, b) in enumerate(zip(self.net1.weights, self.net1.biases, strict=True))
            )
            return (
                f"network {'-'.join(map(str, self.net1.widths))} ({self.net1.dtype}): {weights}; "
                f"x1={show(self.x1)}; m={show(self.m)}; classes={show(self.classes)}"
                + ("" if self.x0 is None else f"; baseline x0={show(self.x0)}")
                + ("" if self.data is None else f"; data={show(self.data)}")
                + ("" if self.relevance is None else f"; starting relevance={show(self.relevance)}")
            )

    # Balls: each encloses the exact value of the reply's experiment in its network.

    @cached_property
    def data_shifted(self) -> Array:
        """The data net2 learns from: ``data + m``, rounded once like ``x2``."""
        if self.data is None:
            raise ValueError("this case has no data set: draw it with strategies.with_data")
        return self.data + self.m

    @cached_property
    def data_balls1(self) -> ForwardBalls:
        """net1 on its data."""
        if self.data is None:
            raise ValueError("this case has no data set: draw it with strategies.with_data")
        return enclose_forward(self.net1, Ball.exact(self.data), p=self.precision)

    @cached_property
    def data_balls2(self) -> ForwardBalls:
        """net2 on ``data + m``, enclosing net1's exact pass on the data."""
        data = shifted_input(self.data_shifted, self.precision)
        return enclose_forward(self.net2, data, self.first_bias2, self.precision)

    def pattern_enclosure(self, method: str, where: str = "net1") -> Ball:
        """The enclosure of ``pattern-net`` or ``pattern-attribution`` at net1 (x1, patterns
        from the data) or net2 (x2, patterns from ``data + m``), computed once."""
        key = (method, f"{where} patterns")
        if key not in self.enclosures:
            network, forward, data = (
                (self.net1, self.balls1, self.data_balls1)
                if where == "net1"
                else (self.net2, self.balls2, self.data_balls2)
            )
            self.enclosures[key] = enclose_pattern_method(
                method, network, forward, data, self.classes, self.precision
            )
        enclosed: Ball = self.enclosures[key]
        return enclosed

    @cached_property
    def balls1(self) -> ForwardBalls:
        return enclose_forward(self.net1, Ball.exact(self.x1), p=self.precision)

    @cached_property
    def first_bias2(self) -> Ball:
        """net2's first bias, enclosing the exact ``b1 - m @ W1``."""
        first = self.net1.layers[0]
        return compensated_bias(self.net2.layers[0].b, first.W, self.m, self.precision)

    @cached_property
    def balls2(self) -> ForwardBalls:
        x2 = shifted_input(self.x2, self.precision)
        return enclose_forward(self.net2, x2, self.first_bias2, self.precision)

    @cached_property
    def balls3(self) -> ForwardBalls:
        return enclose_forward(self.net3, shifted_input(self.x2, self.precision), p=self.precision)

    @cached_property
    def plain_balls3(self) -> ForwardBalls:
        network, x = self.plain_net3
        d = self.net1.n_inputs
        shifted = shifted_input(self.x2, self.precision)
        x_ball = Ball(
            np.hstack([shifted.mid, x[:, d:]]), np.hstack([shifted.rad, np.zeros_like(shifted.rad)])
        )
        return enclose_forward(network, x_ball, p=self.precision)

    @cached_property
    def proxy_balls(self) -> ForwardBalls:
        network, x = self.proxy
        return enclose_forward(network, Ball.exact(x), p=self.precision)


@dataclass(frozen=True, eq=False)
class ReferenceCase:
    """A seed case with a reference batch ``x0`` for net1; net2 is explained against
    ``x0 + m`` (rounded once, like ``x2``) when the reference moves with the shift."""

    case: SeedCase
    x0: Array
    enclosures: dict[tuple[str, str], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @cached_property
    def x0_shifted(self) -> Array:
        return self.x0 + self.case.m

    @cached_property
    def balls0(self) -> ForwardBalls:
        """net1 at ``x0``."""
        return enclose_forward(self.case.net1, Ball.exact(self.x0), p=self.case.precision)

    @cached_property
    def balls0_shifted(self) -> ForwardBalls:
        """net2 at ``x0 + m``, enclosing net1's exact pass at ``x0``."""
        p = self.case.precision
        x0 = shifted_input(self.x0_shifted, p)
        return enclose_forward(self.case.net2, x0, self.case.first_bias2, p)

    @cached_property
    def balls0_unmoved(self) -> ForwardBalls:
        """net2 at ``x0`` itself, a reference that did not move with the shift (its exact pass
        is not net1's at ``x0``: net2's first bias is)."""
        p = self.case.precision
        return enclose_forward(self.case.net2, Ball.exact(self.x0), self.case.first_bias2, p)

    def _ends(self, where: str) -> tuple[Network, ForwardBalls, ForwardBalls, Array, Array]:
        """The network, the balls of its passes at the input and the reference, and the two
        arrays a method is called with: ``net1`` (x1, x0), ``net2`` (x2, x0 + m) or
        ``net2-unmoved`` (x2, x0)."""
        case = self.case
        if where == "net1":
            return case.net1, case.balls1, self.balls0, case.x1, self.x0
        if where == "net2":
            return case.net2, case.balls2, self.balls0_shifted, case.x2, self.x0_shifted
        return case.net2, case.balls2, self.balls0_unmoved, case.x2, self.x0

    def arrays(self, where: str) -> tuple[Network, Array, Array]:
        """The network, input and reference a method is called with at ``where``."""
        network, _, _, x, x0 = self._ends(where)
        return network, x, x0

    def passes(self, where: str) -> tuple[ForwardBalls, ForwardBalls]:
        """The balls of the passes at the input and at the reference, at ``where``."""
        _, forward, reference, _, _ = self._ends(where)
        return forward, reference

    def enclosure(self, exact: str, where: str = "net1") -> Ball:
        """The enclosure of the exact value ``exact`` (``deeplift-rescale``,
        ``integrated-gradients`` or a quadrature of it, ``ig-quadrature:RULE:STEPS``: the
        method families say how each is enclosed) at ``where`` (see :meth:`arrays`), computed
        once."""
        key = (exact, where)
        if key not in self.enclosures:
            self.enclosures[key] = self._enclose(exact, where)
        enclosed: Ball = self.enclosures[key]
        return enclosed

    def first_bias(self, where: str) -> Ball | None:
        """net2's first bias, enclosing net1's exact one, where the network is net2."""
        return None if where == "net1" else self.case.first_bias2

    def _enclose(self, exact: str, where: str) -> Ball:
        # the method families know how to enclose their exact values; they import this module
        from .methods import exact_value_encloser

        return exact_value_encloser(exact)(self, exact, where)
