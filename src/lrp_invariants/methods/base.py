"""The abstract attribution method: everything a caller asks of a claim, as hooks.

A method's family (one module each: gradient, LRP, integrated gradients, DeepLIFT, patterns)
answers these; nothing outside :mod:`lrp_invariants.methods` asks *which* method it holds. Its
capabilities are properties of its class, as Captum declares them (``multiplies_by_inputs``):
whether its targets take a baseline, learn from data, multiply by the input.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from numpy.typing import ArrayLike

from ..bounds import Ball, ForwardBalls, LayerBalls, Precision, conservation_tolerance
from ..bounds.starts import start_ball
from ..claims import ALL_PROPERTIES
from ..network import Array, Network, Start, check_start

if TYPE_CHECKING:
    from hypothesis import strategies as st

    from ..cases import SeedCase
    from ..cnn import CNN
    from ..cnn.bounds import CNNBalls

Target = Callable[[Sequence[Array], Sequence[Array], Array, Array], ArrayLike]
"""The gate's protocol: ``fn(weights, biases, x, classes) -> relevance (n, d)``."""

CNNTarget = Callable[[list[dict[str, Any]], Array, Array], ArrayLike]
"""The gate's CNN protocol (``architecture="cnn"``): ``fn(layers, x, classes) -> relevance``
of ``x``'s shape, ``layers`` the plain dicts of :func:`lrp_invariants.cnn.layer_specs`."""

ALWAYS = ("determinism", "reference")
"""What every method implies: the same bits twice, and agreement with this package's own."""


def ordered(implied: Iterable[str]) -> tuple[str, ...]:
    """``implied`` in the order reports list properties."""
    chosen = set(implied)
    return tuple(p for p in ALL_PROPERTIES if p in chosen)


@dataclass(frozen=True)
class Conservation:
    """What bias-proxy conservation is held to, per sample: the chosen logit on the proxy (a
    ball), the relevance the method keeps back (``Rs``, a ball) and ``rounding`` (n,), a bound on
    how far a correctly rounded pass strays from conservation (its layers' sums, and for chains
    of products an underflow allowance for products a layer-by-layer evaluation never forms)."""

    logit: Ball
    unassigned: Ball
    rounding: Array

    @classmethod
    def of_layers(
        cls,
        layers: Sequence[LayerBalls],
        logits: Ball,
        classes: Array,
        unassigned: Ball,
        p: Precision,
        chain: Array | float = 0.0,
        start: Start = "logit",
    ) -> Conservation:
        """From a dense network's per-layer balls and its logits' balls (n, classes); the
        relevance adds up to where it starts: the logit, 1 or the probability (``start``)."""
        rounding = chain + conservation_tolerance(layers, p)[:, 0]
        return cls(start_ball(logits, classes, start, p), unassigned, rounding)


@dataclass(frozen=True)
class Method(ABC):
    """An attribution method a target can claim to compute.

    ``reference`` is this package's implementation in the gate's protocol, ``properties`` the
    invariants the claim implies, ``spec`` the string :func:`resolve_method` rebuilds it from
    (the name itself for the built-in methods); ``deterministic=False`` holds repeated calls to
    agreement within the bounds instead of bit for bit (atomic reductions on a GPU).
    """

    name: str
    reference: Target = field(repr=False)
    properties: tuple[str, ...]
    spec: str = ""
    deterministic: bool = True

    def __post_init__(self) -> None:
        if not self.spec:
            object.__setattr__(self, "spec", self.name)

    # Capabilities, declared by each family (Captum-style).

    @property
    def takes_baseline(self) -> bool:
        """Whether a target takes the reference batch as a fifth argument, ``baseline``."""
        return False

    @property
    def learns_from_data(self) -> bool:
        """Whether a target learns from a data set passed as a fifth argument, ``data``."""
        return False

    @property
    def multiplies_by_inputs(self) -> bool:
        """Whether the attribution is a local sensitivity multiplied by the input (Captum's
        ``multiplies_by_inputs``)."""
        return False

    # What a target of this method is given.

    @property
    def extra_arguments(self) -> tuple[str, ...]:
        """The arguments a target of this method takes after ``(weights, biases, x, classes)``."""
        return ()

    def arguments(
        self, case: SeedCase, rows: Array | slice = slice(None), where: str = "net1"
    ) -> dict[str, Array]:
        """The values of :attr:`extra_arguments` for ``rows`` of the case at ``where``."""
        return {}

    def prepare_cases(self, cases: st.SearchStrategy[SeedCase]) -> st.SearchStrategy[SeedCase]:
        """``cases`` with whatever this method's targets are given besides the network and
        input drawn into every case (the reference batch, the data set)."""
        return cases

    def notes(
        self, target: Target, cases: st.SearchStrategy[SeedCase], examples: int, seed: int | None
    ) -> tuple[str, ...]:
        """What the gate reports beside the verdict, measured on at most ``examples`` of
        ``cases`` (none unless the family says)."""
        return ()

    # The exact value, enclosed.

    @abstractmethod
    def enclosure(self, case: SeedCase, role: str) -> Ball:
        """A ball (n, d) around the exact relevance at the case's input on the network of
        ``role``: ``net1``, ``net2``, ``net3`` (as a plain MLP on ``[x3, -m]``) or ``proxy`` (the
        bias-proxy network), computed once per case and method."""

    @abstractmethod
    def enclosure_on(self, case: SeedCase, network: Network) -> Ball:
        """A ball around the exact relevance at ``x1`` on ``network``, a transformed net1
        (hidden units permuted or rescaled), with the case's reference or data."""

    def conservation(self, case: SeedCase) -> Conservation:
        """What bias-proxy conservation is held to; only the methods that imply it know."""
        raise ValueError(f"{self.name} does not conserve relevance on the bias proxy")

    @property
    def exact_value(self) -> str:
        """The name of the exact value a method that explains against a reference point ``x0``
        is held to, as :meth:`~lrp_invariants.cases.ReferenceCase.enclosure` takes it."""
        raise ValueError(f"{self.name} explains against no reference point")

    def baseline_call(self, x0: Array) -> dict[str, Array]:
        """The keyword arguments that give a target the baseline ``x0`` (none: it takes none)."""
        return {}

    def enclose(
        self, network: Network, forward: ForwardBalls, classes: ArrayLike, p: Precision
    ) -> Ball:
        """A ball around the exact input relevance on ``network`` from its forward pass, for a
        method that needs nothing else (the others are enclosed with their case's reference or
        data: :meth:`enclosure`)."""
        return self._enclose(network, forward, classes, p)

    def enclose_layers(
        self, network: Network, forward: ForwardBalls, classes: ArrayLike, p: Precision
    ) -> tuple[LayerBalls, ...]:
        """Per-layer balls for conservation bounds, for a method that propagates layer by layer."""
        return self._enclose_layers(network, forward, classes, p)

    def enclose_for(self, case: SeedCase, network: Network, forward: ForwardBalls) -> Ball:
        """:meth:`enclose` on one of ``case``'s networks: where the exact value depends on more
        of the case than its classes (LRP from a given relevance), the method reads it here."""
        return self.enclose(network, forward, case.classes, case.precision)

    def enclose_layers_for(
        self, case: SeedCase, network: Network, forward: ForwardBalls
    ) -> tuple[LayerBalls, ...]:
        """:meth:`enclose_layers` on one of ``case``'s networks (see :meth:`enclose_for`)."""
        return self.enclose_layers(network, forward, case.classes, case.precision)

    def _enclose(
        self, network: Network, forward: ForwardBalls, classes: ArrayLike, p: Precision
    ) -> Ball:
        raise ValueError(f"{self.name} is enclosed with its reference or data: use the case's")

    def _enclose_layers(
        self, network: Network, forward: ForwardBalls, classes: ArrayLike, p: Precision
    ) -> tuple[LayerBalls, ...]:
        raise ValueError(f"{self.name} propagates no relevance layer by layer")

    # On CNNs (the gate's ``architecture="cnn"``, :mod:`lrp_invariants.cnn_cases`).

    @property
    def on_cnns(self) -> bool:
        """Whether the gate can hold a CNN target to this method: this package computes it on
        CNNs and encloses its exact value there."""
        return False

    @property
    def conserves_on_cnns(self) -> bool:
        """Whether the gate can hold this method's CNN targets to bias-proxy conservation
        (:meth:`cnn_conservation` knows what it is held to)."""
        return False

    @property
    def decomposes_on_cnns(self) -> bool:
        """Whether a method that implies shift decomposition keeps it on CNNs too (LRP: when
        the rule its first convolution gets by kind is linear in the contributions)."""
        return True

    def cnn_conservation(
        self, cnn: CNN, balls: CNNBalls, classes: ArrayLike, p: Precision
    ) -> Conservation:
        """What bias-proxy conservation holds a target to on ``cnn``, a CNN without sources."""
        raise ValueError(f"{self.describe()} is not held to conservation on CNNs")

    def cnn_relevance(self, cnn: CNN, x: Array, classes: ArrayLike) -> Array:
        """This package's relevance on ``cnn`` at ``x``, ``(n, *cnn.input_shape)``."""
        raise ValueError(f"{self.describe()} is not defined on CNNs in lrp-invariants")

    def enclose_cnn(self, cnn: CNN, balls: CNNBalls, classes: ArrayLike, p: Precision) -> Ball:
        """A ball ``(n, *cnn.input_shape)`` around the exact relevance on ``cnn`` at the input
        of its forward balls."""
        raise ValueError(f"{self.describe()} is not enclosed on CNNs in lrp-invariants")

    # Text.

    def describe(self) -> str:
        """The method with its configuration, as reports print it."""
        return self.name

    def with_parameters(self, parameters: dict[str, Any]) -> Method:
        """This method with parameters given as options (``--epsilon 0.01``); ValueError if it
        takes none."""
        raise ValueError(f"{self.name} takes no parameters; got --{', --'.join(parameters)}")

    @property
    def start(self) -> str:
        """Where the method's relevance starts at the chosen class (:data:`~lrp_invariants.
        network.STARTS`): its logit, unless a method says otherwise."""
        return "logit"

    def with_start(self, start: str) -> Method:
        """This method started from ``start`` (``--start one``, ``start=one`` in a spec);
        ValueError where it cannot start elsewhere than at the logit."""
        if check_start(start) == self.start:
            return self
        raise ValueError(
            f"{self.name} has no start but the chosen logit; a start ({start}) is part of an "
            "LRP claim"
        )


class NetworkMethod(Method):
    """A method whose exact value depends on the network and the input alone (the gradient
    family, LRP): enclosed on each of the case's networks from its forward balls."""

    def enclosure(self, case: SeedCase, role: str) -> Ball:
        key = (self.spec, role)
        if key not in case.enclosures:
            case.enclosures[key] = self._enclose_role(case, role)
        enclosed: Ball = case.enclosures[key]
        return enclosed

    def _enclose_role(self, case: SeedCase, role: str) -> Ball:
        return case.enclose_role(self, role)

    def enclosure_on(self, case: SeedCase, network: Network) -> Ball:
        return case.enclose_on(self, network)

    def proxy_layers(self, case: SeedCase) -> tuple[LayerBalls, ...]:
        """The per-layer balls on the bias-proxy network, once per case."""
        key = (self.spec, "proxy layers")
        if key not in case.enclosures:
            proxy = case.proxy[0]
            case.enclosures[key] = self.enclose_layers_for(case, proxy, case.proxy_balls)
        layers: tuple[LayerBalls, ...] = case.enclosures[key]
        return layers


def _names_nothing(text: str) -> Method | None:
    return None


@dataclass(frozen=True)
class Family:
    """A family's row in the registry: its built-in methods (listed by name; ``by_spec`` after
    every family's, by spec), how it reads a spec (None: not this family's), and how it encloses
    the exact values its claims are held to against a reference point, by name."""

    methods: tuple[Method, ...]
    parse: Callable[[str], Method | None] = _names_nothing
    by_spec: tuple[Method, ...] = ()
    exact_values: Mapping[str, Callable[..., Ball]] = field(default_factory=dict)


def parse_options(name: str, options: str, allowed: Sequence[str], takes: str) -> dict[str, str]:
    """``key=value,key=value`` as a dict; ValueError naming what ``name`` takes (``takes``
    says what the values may be) on an unknown key or an empty value."""
    parsed: dict[str, str] = {}
    for part in filter(None, (o.strip() for o in options.split(","))):
        key, _, value = part.partition("=")
        if key.strip() not in allowed or not value.strip():
            raise ValueError(
                f"unknown option {part!r} for {name}; it takes "
                + ", ".join(f"{a}=..." for a in allowed)
                + f" ({takes})"
            )
        parsed[key.strip()] = value.strip()
    return parsed
