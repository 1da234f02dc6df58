"""Which rule each layer gets: by position on an MLP, by position and layer kind on a CNN.

On a dense MLP a :class:`Composite` assigns ``first`` / ``hidden`` / ``last`` (or one rule per
layer). On a CNN the libraries map rules by *layer kind* (Zennit's layer maps: z⁺ or γ at every
convolution, ε at the dense layers, a normalised z-rule at average pooling and sums, ``Pass`` at
batch norms), and some merge each batch norm into the layer before it first (a canonizer). The
kind fields say that; an MLP has none of those layers, so they never change what it gets.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from .rules import LRP0, Rule

MAX_DEPTH = 8
"""The deepest network the strategies draw; a property is implied if it holds at every depth."""

KIND_ROLES = ("convolutions", "first_convolution", "pooling", "batch_norm", "sums")
"""The roles a composite gives by layer kind, as fields (spec keys use hyphens)."""

_KIND_NAMES = {
    "convolutions": "convolutions",
    "first_convolution": "first convolution",
    "pooling": "average pooling",
    "batch_norm": "batch norms",
    "sums": "residual sums",
}
_NAMES = {"first": "first", "hidden": "hidden", "last": "last", **_KIND_NAMES}


@dataclass(frozen=True)
class Composite:
    """Which rule each layer gets.

    ``first`` and ``last`` (default: ``hidden``) go to the first and last weighted layers (Linear,
    or convolution), ``hidden`` to every one between; on a one-layer network ``first`` wins.
    ``layers`` instead fixes one rule per layer (input layer first) for networks of exactly that
    depth. On CNNs, by kind: ``convolutions`` at every convolution (``first_convolution`` at the
    first), ``pooling`` at average pooling, ``batch_norm`` at a batch norm left as its own layer,
    ``sums`` at a residual block's sum (LRP-0 where unset); ``first`` still wins at the first
    weighted layer. ``merge_batch_norms``: every batch norm directly after a convolution is
    merged into it before the rules apply (Zennit's ``SequentialMergeBatchNorm``).

    >>> Composite(Epsilon(1e-6), first=Flat(1e-6))     # Zennit's EpsilonPlusFlat on an MLP
    >>> Composite(Epsilon(1e-6), convolutions=ZPlus(1e-6), batch_norm=Pass())  # on a CNN
    """

    hidden: Rule
    first: Rule | None = None
    last: Rule | None = None
    layers: tuple[Rule, ...] | None = None
    convolutions: Rule | None = None
    first_convolution: Rule | None = None
    pooling: Rule | None = None
    batch_norm: Rule | None = None
    sums: Rule | None = None
    merge_batch_norms: bool = False
    unset: tuple[str, ...] = ()
    """Kind roles the library fills with the caller's parameters (EpsilonGammaBox's box bounds
    at the first convolution): until given, the composite is not defined on CNNs."""

    def __post_init__(self) -> None:
        for role in ("hidden", "first", "last", *KIND_ROLES):
            value = getattr(self, role)
            if value is not None and not isinstance(value, Rule):
                raise TypeError(f"the {role} rule is a {type(value).__name__}, not a Rule")
        if not isinstance(self.merge_batch_norms, bool):
            raise TypeError("merge_batch_norms is True or False")
        unknown = [role for role in self.unset if role not in KIND_ROLES]
        if unknown:
            raise ValueError(f"unset roles must be among {KIND_ROLES}; got {unknown}")

    @classmethod
    def per_layer(cls, rules: Sequence[Rule]) -> Composite:
        if not rules:
            raise ValueError("give at least one rule")
        return cls(rules[0], layers=tuple(rules))

    @property
    def single(self) -> bool:
        """Whether one rule (``hidden``) runs on every layer of every kind."""
        return self == Composite(self.hidden)

    @property
    def by_kind(self) -> bool:
        """Whether anything is set by layer kind (or batch norms are merged)."""
        kinds = any(getattr(self, role) is not None for role in KIND_ROLES)
        return self.merge_batch_norms or kinds or bool(self.unset)

    def rules_for(self, depth: int) -> tuple[Rule, ...]:
        """The rule of each of ``depth`` Linear layers of an MLP, input layer first."""
        if self.layers is not None:
            if len(self.layers) != depth:
                raise ValueError(
                    f"this composite names {len(self.layers)} rules, one per layer, but the "
                    f"network has {depth} Linear layers"
                )
            return self.layers
        rules = [self.hidden] * depth
        if self.last is not None:
            rules[-1] = self.last
        if self.first is not None:
            rules[0] = self.first
        return tuple(rules)

    def weighted_rules(self, convolution: Sequence[bool]) -> tuple[Rule, ...]:
        """The rule of each weighted layer of a CNN in forward order, ``convolution[k]`` saying
        whether the k-th is a convolution (else a dense layer)."""
        rules = list(self.rules_for(len(convolution)))
        convolutions = [k for k, is_conv in enumerate(convolution) if is_conv]
        if self.convolutions is not None:
            for k in convolutions:
                rules[k] = self.convolutions
        if self.first_convolution is not None and convolutions:
            rules[convolutions[0]] = self.first_convolution
        if self.first is not None and rules:
            rules[0] = self.first
        return tuple(rules)

    def at_kind(self, role: str) -> Rule:
        """The rule at average pooling, batch norms or sums (LRP-0 where unset)."""
        if role not in ("pooling", "batch_norm", "sums"):
            raise ValueError(f"no layer kind {role!r}; choose pooling, batch_norm or sums")
        rule = getattr(self, role)
        return LRP0() if rule is None else rule

    def cnn_rules(self) -> tuple[Rule, ...]:
        """Every rule that can meet a layer of a CNN."""
        weighted = (self.hidden, self.first, self.last, self.convolutions, self.first_convolution)
        kinds = tuple(self.at_kind(role) for role in ("pooling", "batch_norm", "sums"))
        return tuple(rule for rule in (*weighted, *kinds) if rule is not None)

    def first_rules_on_cnns(self) -> tuple[Rule, ...]:
        """The rules the first weighted layer of a CNN can get (a convolution, or dense)."""
        if self.first is not None:
            return (self.first,)
        conv = self.first_convolution or self.convolutions or self.hidden
        return (conv, self.hidden)

    def depths(self) -> range:
        """The depths this composite applies to."""
        if self.layers is not None:
            return range(len(self.layers), len(self.layers) + 1)
        return range(1, MAX_DEPTH + 1)

    def spec(self) -> str:
        """``first=... hidden=... last=...`` (or ``layers=...;...``), then the kinds
        (``convolutions=...``) and ``merge-batch-norms``, readable by
        :func:`~lrp_invariants.configuration.parse_composite`."""
        if self.layers is not None:
            return "layers=" + ";".join(rule.spec() for rule in self.layers)
        parts = [f"{role.replace('_', '-')}={rule.spec()}" for role, rule in self._given()]
        if self.merge_batch_norms:
            parts.append("merge-batch-norms")
        if self.unset:
            parts.append("unset=" + ",".join(role.replace("_", "-") for role in self.unset))
        return " ".join(parts)

    def _given(self) -> list[tuple[str, Rule]]:
        """``(role, rule)`` for every role set, positional ones first, in spec order."""
        roles = ("first", "hidden", "last", *KIND_ROLES)
        return [(role, getattr(self, role)) for role in roles if getattr(self, role) is not None]

    def with_roles(
        self, roles: dict[str, Rule], merge_batch_norms: bool, unset: tuple[str, ...] = ()
    ) -> Composite:
        """This composite with some roles replaced (keys: field names), and ``unset`` roles
        added (a role given here is set, whatever ``unset`` says)."""
        given: dict[str, object] = dict(roles)
        still = (*self.unset, *(role for role in unset if role not in self.unset))
        return dataclasses.replace(
            self,
            **given,  # type: ignore[arg-type]
            merge_batch_norms=self.merge_batch_norms or merge_batch_norms,
            unset=tuple(role for role in still if role not in roles),
        )

    def describe(self) -> str:
        if self.single:
            return self.hidden.describe()
        if self.layers is not None:
            return "per layer: " + ", ".join(rule.describe() for rule in self.layers)
        parts = [f"{_NAMES[role]} {rule.describe()}" for role, rule in self._given()]
        if self.merge_batch_norms:
            parts.append("batch norms merged into the convolution before them")
        parts.extend(f"{_KIND_NAMES[role]} not given" for role in self.unset)
        return "; ".join(parts)
