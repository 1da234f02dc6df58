"""What every LRP rule shares: the sinks it reports, the Rule protocol, the 0/0 convention.

Every rule redistributes a Linear layer's output relevance ``R`` (n, out) onto the layer's
*sources*: its input neurons ``a`` (n, in), the bias ``b`` (an always-on neuron, relevance ``Rb``)
and, in the reply's net3, the constant second input ``m`` (relevance ``Rm``). Whatever a rule does
not pass on — the share a stabiliser absorbs, or the share of a neuron with no source of the
required sign — is reported as ``Rs``. With every sink counted a rule conserves relevance exactly:

    R.sum(1) == R_in.sum(1) + Rb.sum(1) + Rm.sum(1) + Rs.sum(1)       (up to rounding)

Division conventions (never a NaN): a zero denominator passes nothing (0/0 -> 0) and its
neuron's relevance goes to ``Rs``; the ε stabiliser uses sign(0) = +1.

Each rule lives in one module of this package, with its three forms side by side: ``backward``
(fast, two matrix products), ``shares`` (the slow, literal per-contribution twin that
:mod:`lrp_invariants.per_contribution` runs) and ``enclose`` (the ball that holds its exact value
and every correct evaluation, :mod:`lrp_invariants.bounds`). Nothing outside a rule's module
branches on its type.

Equation numbers refer to Bach et al. (2015), PLoS ONE 10(7): e0130140, and to Montavon et al.
(2019), "Layer-Wise Relevance Propagation: An Overview", in LNCS 11700.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np

from ..network import Array, LayerTrace, Linear

if TYPE_CHECKING:
    from ..bounds.relevance import Enclosed, LayerBalls, LayerInput
    from .operator import LinearOperator, OperatorRelevance

# How a rule treats the bias, where libraries differ: a ``source`` like any input (its
# relevance is ``Rb``), ``ignored`` (left out of the denominator, ``Rb = 0``: Zennit's
# ``zero_params=["bias"]``), ``modified`` like the weights (γ's ``b + γ b⁺``), or, for the
# sign-split rules, ``whole``: the bias as it is, whatever its sign, in each side's sum
# (iNNvestigate's αβ, Captum's Alpha1_Beta0_Rule). Each rule names the ones it takes.
BiasConvention = Literal["source", "ignored", "modified", "whole"]

BIAS_CONVENTIONS: tuple[str, ...] = ("source", "ignored", "modified", "whole")


def check_parameter(name: str, value: float) -> None:
    """ValueError naming ``name`` unless ``value`` is finite and >= 0 (ε, γ)."""
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be finite and >= 0; got {value}")


def divide_or_zero(
    numerator: Array, denominator: Array, out: Array | None = None
) -> tuple[Array, Array | None]:
    """``numerator / denominator`` (into ``out``, if given) with 0 where the denominator is
    exactly zero.

    Also returns the mask of zero denominators, or None when there is none (the common case,
    which then costs one plain division and no mask).
    """
    if np.all(denominator):
        return np.divide(numerator, denominator, out=out), None
    zero = denominator == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = np.divide(numerator, denominator, out=out)
    quotient[np.broadcast_to(zero, quotient.shape)] = 0
    return quotient, zero


def stabiliser(z: Array, epsilon: float, out: Array | None = None) -> Array:
    """``ε sign(z)`` with sign(0) = +1, also for -0.0: ``ε - 2ε [z < 0]``, exact in floats."""
    eps = z.dtype.type(epsilon)
    result = np.multiply(z < 0, -2 * eps, dtype=z.dtype, out=out)
    result += eps
    return result


class LayerRelevance:
    """A Linear layer's relevance: received ``R_out``, passed to inputs ``R``, and its sinks
    ``Rb`` (each output neuron's bias), ``Rs`` (relevance not passed on: stabiliser, empty sign
    side, zero denominator) and ``Rm`` (the constant second input's, if the layer has one).

    A rule may give ``Rb`` and ``Rs`` as arrays, or as ``sinks``, a function that computes both
    when they are first read: LRP-ε keeps one quotient per unit instead of two arrays of the
    layer's width, so that explaining a batch needs no more than twice its forward pass.
    Immutable; the derived sinks are computed once.
    """

    __slots__ = ("R", "R_out", "Rm", "_Rb", "_Rs", "_bounds", "_sinks")

    R_out: Array  # (n, out)
    R: Array  # (n, in)
    Rm: Array | None  # (n, in)
    _Rb: Array | None
    _Rs: Array | None
    _sinks: Callable[[], tuple[Array, Array]] | None
    _bounds: Callable[[], Array] | None

    def __init__(
        self,
        R_out: Array,
        R: Array,
        Rb: Array | None = None,
        Rs: Array | None = None,
        Rm: Array | None = None,
        *,
        sinks: Callable[[], tuple[Array, Array]] | None = None,
        bounds: Callable[[], Array] | None = None,
    ) -> None:
        if sinks is None and (Rb is None or Rs is None):
            raise TypeError("give Rb and Rs, or a function that computes them (sinks=)")
        for name, value in (("R_out", R_out), ("R", R), ("Rm", Rm), ("_Rb", Rb), ("_Rs", Rs)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_sinks", sinks)
        object.__setattr__(self, "_bounds", bounds)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"LayerRelevance is immutable: cannot set {name}")

    def _derive(self) -> None:
        if self._Rb is None or self._Rs is None:
            assert self._sinks is not None
            Rb, Rs = self._sinks()
            object.__setattr__(self, "_Rb", Rb)
            object.__setattr__(self, "_Rs", Rs)

    @property
    def Rb(self) -> Array:
        """(n, out) relevance absorbed by each output neuron's bias."""
        self._derive()
        assert self._Rb is not None
        return self._Rb

    @property
    def Rs(self) -> Array:
        """(n, out) relevance not passed on (stabiliser, empty sign side, zero denominator)."""
        self._derive()
        assert self._Rs is not None
        return self._Rs

    def may_be_unbounded(self) -> Array:
        """Per sample, whether some relevance of this layer may be inf or NaN (a row sum that
        is not finite; a sum that merely overflowed counts too), without deriving the sinks."""
        parts = [self.R] + ([] if self.Rm is None else [self.Rm])
        if self._bounds is not None and (self._Rb is None or self._Rs is None):
            bad = ~np.isfinite(self._bounds())
        else:
            parts += [self.Rb, self.Rs]
            bad = np.zeros(self.R.shape[0], dtype=bool)
        for part in parts:
            # a row sum is finite only if every term is (inf and NaN propagate): one pass, no
            # temporary of the part's size
            with np.errstate(over="ignore", invalid="ignore"):
                bad |= ~np.isfinite(part.sum(axis=1))
        return bad

    def sinks(self) -> Array:
        """Per sample, all relevance this layer absorbed instead of passing it to its inputs."""
        total = self.Rb.sum(axis=1) + self.Rs.sum(axis=1)
        if self.Rm is not None:
            total = total + self.Rm.sum(axis=1)
        return total

    def __repr__(self) -> str:
        derived = "derived" if self._Rb is not None else "not yet derived"
        return f"LayerRelevance(R_out {self.R_out.shape}, R {self.R.shape}, sinks {derived})"


class Rule(ABC):
    """Redistribute one Linear layer's output relevance over its sources."""

    @property
    @abstractmethod
    def name(self) -> str:
        """The rule's name in reports, e.g. ``lrp-epsilon``."""

    uses_sign_split: ClassVar[bool] = False
    """Whether the rule divides by ``[z⁺ | z⁻]``, so the forward pass should keep it."""

    enclosed_on_cnns: ClassVar[bool] = True
    """Whether :mod:`lrp_invariants.cnn.bounds` encloses the rule at every convolution of every
    drawn CNN, so that the gate can judge CNN code claiming it."""

    conservation_on_cnns: ClassVar[bool] = True
    """Whether the gate holds CNN code claiming the rule to bias-proxy conservation (on net1
    without sources, :func:`lrp_invariants.cnn.constructions.without_sources`)."""

    @abstractmethod
    def backward(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        """The relevance of each of ``layer``'s sources, from its input ``a``, ``z`` and ``R``."""

    @abstractmethod
    def shares(self, layer: Linear, a: Array, z: Array) -> tuple[Array, Array]:
        """The literal form: the fraction of ``R_j`` each source receives (n, sources, out),
        sources ordered as :func:`contributions` orders them, and the fraction no source
        receives (n, out)."""

    @abstractmethod
    def enclose(self, layer: LayerInput, incoming: Enclosed) -> tuple[LayerBalls, Enclosed]:
        """Balls around this layer's relevances (exact value and every correct evaluation),
        from the balls of the layer's forward pass and of the relevance it receives; also what
        the layer below receives."""

    def propagate(self, op: LinearOperator, a: Array, z: Array, R: Array) -> OperatorRelevance:
        """The rule at any linear layer kind (convolution, pooling, batch norm, dense, a sum),
        through the products :class:`~lrp_invariants.rules.operator.LinearOperator` offers:
        ``a`` (n, *in) the layer's input, ``z`` and ``R`` (n, *out) its output and relevance."""
        raise NotImplementedError(f"{self.name} has no form for layers other than dense ones")

    def check_operator(self, index: int, op: LinearOperator) -> None:
        """Raise ValueError, naming layer ``index``, if this rule cannot apply to ``op``."""
        return None

    def check_layer(self, index: int, layer: Linear) -> None:
        """Raise ValueError, naming layer ``index``, if this rule cannot apply to ``layer``
        (called before any work). Most rules apply to any layer."""
        return None

    def describe(self) -> str:
        """The rule with its parameters, as reports and ``lrp-invariants methods`` print it."""
        return self.name

    def spec_values(self) -> list[str]:
        """``key=value`` for each parameter, as :meth:`spec` writes them."""
        return []

    def spec(self) -> str:
        """The rule spec (``epsilon:epsilon=1e-06``) that
        :func:`lrp_invariants.configuration.parse_rule` reads back as this rule."""
        values = self.spec_values()
        return self.name.removeprefix("lrp-") + (":" + ",".join(values) if values else "")

    @property
    def linear_in_contributions(self) -> bool:
        """Whether each source's relevance is its contribution ``z_ij`` times a factor of
        ``j`` alone: then a source split in two (the reply's net3) splits its relevance in the
        same proportion, which is what shift decomposition needs of the first layer's rule."""
        return False

    @property
    def scale_free(self) -> bool:
        """Whether scaling a unit's incoming weights and bias by ``λ > 0`` (and its outgoing
        weights by ``1 / λ``) leaves every relevance below it unchanged: no absolute constant
        such as a stabiliser meets the unit's pre-activation."""
        return False

    @property
    def row_scale_free(self) -> bool:
        """Whether scaling one input unit's outgoing weights by ``1 / λ`` while the unit's value
        grows by ``λ`` changes nothing: the rule reads each contribution ``a_i w_ij`` whole."""
        return True

    @property
    def accepts_wider_input(self) -> bool:
        """Whether the rule applies to a layer with more inputs than the original's (the bias
        proxy's first layer takes one always-on input per bias)."""
        return True

    @property
    def bias_is_source(self) -> bool:
        """Whether a bias is a source like an always-on input, so that relaying it from an
        input (the bias proxy) moves no relevance."""
        return True


def to_sources(
    layer: Linear, a: Array, R: Array, s: Array, Rs: Array, out: Array | None = None
) -> LayerRelevance:
    """Sources get ``a_i w_ij s_j``, bias ``b_j s_j``, constant ``m_i w_ij s_j``.

    ``s`` (n, out) is consumed: it becomes ``Rb`` in place, which spares a large allocation;
    the input relevance is written into ``out`` (n, in), if given.
    """
    c = np.matmul(s, layer.W.T, out=out)
    Rm = None if layer.constant is None else layer.constant * c
    c *= a
    s *= layer.b
    return LayerRelevance(R_out=R, R=c, Rb=s, Rs=Rs, Rm=Rm)


def lost_where(R: Array, zero: Array | None) -> Array:
    """The relevance of neurons whose denominator is zero: they pass nothing."""
    if zero is None:  # the common case: a read-only view of one zero, not a new array
        return np.broadcast_to(R.dtype.type(0), R.shape)
    return np.where(zero, R, R.dtype.type(0))


def contributions(layer: Linear, a: Array) -> Array:
    """``z_ij`` for every source i (inputs, constant inputs, bias) and output j: (n, S, out)."""
    n = a.shape[0]
    parts = [a[:, :, None] * layer.W[None, :, :]]
    if layer.constant is not None:
        parts.append(np.broadcast_to(layer.constant[:, None] * layer.W, (n, *layer.W.shape)))
    parts.append(np.broadcast_to(layer.b, (n, 1, layer.n_out)))
    return np.concatenate(parts, axis=1)


def share_or_zero(numerator: Array, denominator: Array) -> Array:
    """``numerator / denominator`` broadcast over sources (n, S, out) / (n, out); 0 where the
    denominator is 0."""
    den = np.broadcast_to(denominator[:, None, :], numerator.shape)
    out = np.zeros_like(numerator)
    np.divide(numerator, den, out=out, where=den != 0)
    return out


def signed_stabiliser(z: Array, epsilon: float) -> Array:
    """``ε sign(z)`` with sign(0) = +1 in the slow, literal form."""
    return epsilon * np.where(z >= 0, 1, -1).astype(z.dtype)
