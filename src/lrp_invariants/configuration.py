"""Configurations as people write them: rules with parameters, composites, library presets.

A *rule spec* names a rule and its parameters in one string, the same in the command line, the
pytest plugin and saved counterexamples::

    epsilon:1e-6                     LRP-ε, ε = 1e-6 (a positional value is the first parameter)
    gamma:0.25,bias=source           LRP-γ with the bias as an unmodified source (Captum)
    gamma:gamma=0.25,weights-once    γ on the weights alone, whatever the signs (Captum)
    zbox:low=0,high=1                z^B for inputs in [0, 1]; per feature: low=0/0/-1
    alpha-beta:2,1   zplus   flat:1e-6   w-square:1e-6,bias=source   0
    alpha-beta:2,1,epsilon=1e-6      Zennit's AlphaBeta (its stabiliser)
    zplus:epsilon=1e-9,bias=whole,weights-once   Captum's Alpha1_Beta0_Rule (weights clamped)
    zplus:bias=ignored               iNNvestigate's lrp.z_plus

A :class:`Composite` assigns rules to layers: ``first`` / ``hidden`` / ``last`` (the first and last
Linear layers, and those between), or one explicit rule per layer. :data:`PRESETS` reproduce what
the libraries' composites do on a dense ReLU MLP. The properties a configuration implies are
derived from its rules (:func:`implied_properties`), never kept by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .claims import ALL_PROPERTIES as ALL_PROPERTIES  # re-exported: the names live there
from .composite import KIND_ROLES
from .composite import MAX_DEPTH as MAX_DEPTH  # re-exported: the strategies read it here
from .composite import Composite as Composite  # re-exported: composites are configured here
from .network import Array, Network
from .relevance import explain
from .rules import LRP0, AlphaBeta, Epsilon, Flat, Gamma, Pass, Rule, WSquare, ZBox, ZPlus

REFERENCE_ONLY = ("completeness", "baseline-invariance")
"""Properties of the methods that explain against a baseline (DeepLIFT, integrated gradients):
they do not apply to LRP's rules, which have no reference point."""


@dataclass(frozen=True)
class _RuleKind:
    """One rule's spec name, constructor, parameter names in positional order, and which of them
    are strings, booleans or lists of numbers."""

    build: Callable[..., Rule]
    parameters: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    flags: dict[str, tuple[str, Any]] = field(default_factory=dict)
    lists: tuple[str, ...] = ()
    required: tuple[str, ...] = ()


RULE_KINDS: dict[str, _RuleKind] = {
    "0": _RuleKind(LRP0),
    "epsilon": _RuleKind(Epsilon, ("epsilon",)),
    "alpha-beta": _RuleKind(
        AlphaBeta,
        ("alpha", "beta", "epsilon", "bias"),
        text=("bias",),
        flags={"weights-once": ("sign_aware", False), "sign-aware": ("sign_aware", True)},
    ),
    "zplus": _RuleKind(
        ZPlus,
        ("epsilon", "bias"),
        text=("bias",),
        flags={"weights-once": ("sign_aware", False), "sign-aware": ("sign_aware", True)},
    ),
    "gamma": _RuleKind(
        Gamma,
        ("gamma", "epsilon", "bias"),
        text=("bias",),
        flags={"weights-once": ("sign_aware", False), "sign-aware": ("sign_aware", True)},
    ),
    "zbox": _RuleKind(
        ZBox,
        ("low", "high", "epsilon", "bias"),
        text=("bias",),
        lists=("low", "high"),
        required=("low", "high"),
    ),
    "w-square": _RuleKind(WSquare, ("epsilon", "bias"), text=("bias",)),
    "flat": _RuleKind(Flat, ("epsilon",)),
    "pass": _RuleKind(Pass),
}


def _number(text: str, name: str, spec: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} in rule {spec!r} is not a number") from None


def parse_rule(spec: str) -> Rule:
    """The rule a spec names (see the module's docstring); ValueError naming the fix if not.

    >>> parse_rule("gamma:0.25,bias=source")
    Gamma(gamma=0.25, epsilon=0.0, bias='source', sign_aware=True)
    """
    name, _, rest = spec.strip().partition(":")
    name = name.strip().removeprefix("lrp-")
    kind = RULE_KINDS.get(name)
    if kind is None:
        raise ValueError(
            f"unknown rule {name!r} in {spec!r}; choose one of {', '.join(RULE_KINDS)}"
        )
    arguments: dict[str, Any] = {}
    positional = list(kind.parameters)
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, equals, value = item.partition("=")
        key = key.strip()
        if not equals and key in kind.flags:
            flag, setting = kind.flags[key]
            arguments[flag] = setting
            continue
        if not equals:
            if not positional:
                raise ValueError(f"rule {spec!r} has more values than parameters {kind.parameters}")
            key, value = positional.pop(0), item
        elif key not in kind.parameters:
            takes = ", ".join(kind.parameters) if kind.parameters else "no parameters"
            raise ValueError(f"rule {name!r} takes {takes}; got {key!r} in {spec!r}")
        else:
            positional = [p for p in positional if p != key]
        value = value.strip()
        if key in kind.text:
            arguments[key] = value
        elif key in kind.lists:
            arguments[key] = [_number(v, key, spec) for v in value.split("/")]
        else:
            arguments[key] = _number(value, key, spec)
    missing = [key for key in kind.required if key not in arguments]
    if missing:
        example = ",".join(f"{key}=..." for key in kind.required)
        raise ValueError(f"rule {name!r} needs {' and '.join(missing)}: e.g. {name}:{example}")
    return kind.build(**arguments)


def _kind_of(rule: Rule) -> tuple[str, _RuleKind]:
    """The registry entry a rule was built from: the one whose name its spec carries."""
    name = rule.spec().partition(":")[0]
    return name, RULE_KINDS[name]


def rule_spec(rule: Rule) -> str:
    """The spec that :func:`parse_rule` reads back as ``rule`` (each rule writes its own)."""
    return rule.spec()


def parse_composite(spec: str) -> Composite:
    """Read :meth:`Composite.spec` back: ``first=RULE hidden=RULE last=RULE`` or
    ``layers=RULE;RULE;...``, then rules by layer kind (``convolutions=RULE``,
    ``first-convolution=``, ``pooling=``, ``batch-norm=``, ``sums=``) and ``merge-batch-norms``;
    or the name of a :data:`PRESETS` entry, optionally followed by kinds and words that change it
    (``zennit-epsilon-plus merge-batch-norms``)."""
    words = spec.split()
    base = PRESETS[words[0]].composite if words and words[0] in PRESETS else None
    roles: dict[str, str] = {}
    merge = False
    unset: tuple[str, ...] = ()
    for part in words[1:] if base is not None else words:
        role, equals, rule = part.partition("=")
        role = role.replace("-", "_")
        if part == "merge-batch-norms":
            merge = True
            continue
        if role == "unset" and equals:  # kind roles the library fills from its caller
            unset = tuple(r.strip().replace("-", "_") for r in rule.split(",") if r.strip())
            continue
        if not equals or role not in ("first", "hidden", "last", "layers", *KIND_ROLES):
            raise ValueError(
                f"composite {spec!r}: write first=RULE hidden=RULE last=RULE, or layers=RULE;RULE; "
                "on CNNs also convolutions=, first-convolution=, pooling=, batch-norm=, sums= "
                f"and merge-batch-norms; or a preset: {', '.join(PRESETS)}"
            )
        roles[role] = rule
    if "layers" in roles:
        if len(roles) > 1 or merge or base is not None:
            raise ValueError(f"composite {spec!r}: layers=... fixes every layer; give it alone")
        return Composite.per_layer([parse_rule(r) for r in roles["layers"].split(";")])
    if base is None:
        if "hidden" not in roles:
            raise ValueError(
                f"composite {spec!r} needs hidden=RULE (the rule between first and last)"
            )
        base = Composite(parse_rule(roles["hidden"]))
    given = {role: parse_rule(rule) for role, rule in roles.items()}
    return base.with_roles(given, merge, unset)


def implied_properties(composite: Composite) -> tuple[str, ...]:
    """The properties every network depth's rules imply, in :data:`ALL_PROPERTIES` order.

    * shift decomposition: the first layer's rule is linear in the contributions (net3 splits
      each input's contribution in two; every layer above sees the same activations);
    * bias-proxy conservation: every rule runs on the proxy's wider first layer (each conserves
      relevance with its sinks counted);
    * bias-proxy transparency: every rule treats a bias as a source, as the proxy's always-on
      input is one;
    * rescaling: a hidden unit scaled by ``λ`` meets a rule free of absolute constants in its own
      layer, and one that reads contributions whole in the layer above;
    * permutation, batch consistency, determinism and the reference hold for every rule.
    """
    per_depth = [composite.rules_for(depth) for depth in composite.depths()]
    holds = {
        "shift-decomposition": all(rules[0].linear_in_contributions for rules in per_depth),
        "bias-proxy-conservation": all(
            rule.accepts_wider_input for rules in per_depth for rule in rules
        ),
        "bias-proxy-transparency": all(
            rule.bias_is_source for rules in per_depth for rule in rules
        ),
        "rescaling": all(
            rules[i].scale_free and rules[i + 1].row_scale_free
            for rules in per_depth
            for i in range(len(rules) - 1)
        ),
    }
    always = {"permutation", "batch-consistency", "determinism", "reference"}
    return tuple(p for p in ALL_PROPERTIES if p in always or holds.get(p, False))


def composite_target(composite: Composite, start: str = "logit") -> Callable[..., Array]:
    """This package's reference in the gate's protocol: LRP with ``composite``'s rules, started
    at the chosen logit (or at one, or at the probability); started at a given relevance, it
    takes that as a fifth argument, ``relevance`` (n, outputs)."""

    def reference(
        weights: Sequence[ArrayLike],
        biases: Sequence[ArrayLike],
        x: ArrayLike,
        classes: ArrayLike,
        relevance: ArrayLike | None = None,
    ) -> Array:
        network = Network.from_arrays(weights, biases)
        rules = composite.rules_for(network.depth)
        if (relevance is not None) != (start == "given"):
            raise TypeError(
                "pass relevance exactly when LRP starts at a given relevance (start=given)"
            )
        where = start if relevance is None else np.asarray(relevance)
        return explain(network, x, classes, rules, where)[1].input

    reference.__doc__ = f"LRP with {composite.describe()}, started at the {start}."
    return reference


@dataclass(frozen=True)
class Preset:
    """A library's composite as it acts on a dense ReLU MLP, and where that comes from."""

    composite: Composite
    source: str


def _zennit(
    hidden: Rule,
    first: Rule | None = None,
    convolutions: Rule | None = None,
    unset: tuple[str, ...] = (),
) -> Composite:
    """A Zennit composite: its rule at Linear layers (``hidden``, ``first``), at convolutions,
    and ``layer_map_base``'s ``Norm`` (a normalised z-rule: LRP-ε with its stabiliser, there
    being no bias) at average pooling and ``Sum`` modules, ``Pass`` at batch norms."""
    norm = Epsilon(ZENNIT_STABILISER)
    return Composite(
        hidden,
        first=first,
        convolutions=convolutions,
        pooling=norm,
        batch_norm=Pass(),
        sums=norm,
        unset=unset,
    )


ZENNIT_STABILISER = 1e-6
"""Zennit's default ``epsilon`` and ``stabilizer``."""

PRESETS: dict[str, Preset] = {
    "zennit-epsilon-plus": Preset(
        _zennit(Epsilon(ZENNIT_STABILISER), convolutions=ZPlus(ZENNIT_STABILISER)),
        "Zennit EpsilonPlus: ZPlus(1e-6) at convolutions, Epsilon(1e-6) at every Linear, Norm "
        "at average pooling and Sum modules, Pass at batch norms",
    ),
    "zennit-epsilon-plus-flat": Preset(
        _zennit(
            Epsilon(ZENNIT_STABILISER),
            first=Flat(ZENNIT_STABILISER),
            convolutions=ZPlus(ZENNIT_STABILISER),
        ),
        "Zennit EpsilonPlusFlat: Flat(1e-6) at the first Linear or convolution, then as "
        "EpsilonPlus",
    ),
    "zennit-epsilon-alpha2-beta1": Preset(
        _zennit(Epsilon(ZENNIT_STABILISER), convolutions=AlphaBeta(2.0, 1.0, ZENNIT_STABILISER)),
        "Zennit EpsilonAlpha2Beta1: AlphaBeta(2, 1, stabilizer=1e-6) at convolutions, "
        "Epsilon(1e-6) at every Linear, Norm at average pooling and sums, Pass at batch norms",
    ),
    "zennit-epsilon-alpha2-beta1-flat": Preset(
        _zennit(
            Epsilon(ZENNIT_STABILISER),
            first=Flat(ZENNIT_STABILISER),
            convolutions=AlphaBeta(2.0, 1.0, ZENNIT_STABILISER),
        ),
        "Zennit EpsilonAlpha2Beta1Flat: Flat(1e-6) at the first Linear or convolution, then as "
        "EpsilonAlpha2Beta1",
    ),
    "zennit-epsilon-gamma-box": Preset(
        _zennit(
            Epsilon(ZENNIT_STABILISER),
            convolutions=Gamma(0.25, ZENNIT_STABILISER),
            unset=("first_convolution",),
        ),
        "Zennit EpsilonGammaBox(low, high): Gamma(0.25, 1e-6) at convolutions, Epsilon(1e-6) at "
        "every Linear; ZBox is the first convolution's rule, whose bounds are the caller's: "
        "give them (first-convolution=zbox:low=L,high=H,epsilon=1e-6) to judge it on CNNs",
    ),
    "captum-default": Preset(
        Composite(Epsilon(1e-9), pooling=Epsilon(1e-9), batch_norm=Epsilon(1e-9)),
        "Captum LRP: the default rule of nn.Linear, Conv2d, BatchNorm2d, AvgPool2d and "
        "AdaptiveAvgPool2d is EpsilonRule(epsilon=1e-9) (and of MaxPool, which no claim here "
        "says: max pooling is winner-take-all)",
    ),
    "captum-alpha1-beta0": Preset(
        Composite(ZPlus(1e-9, "whole", sign_aware=False)),
        "Captum LRP with Alpha1_Beta0_Rule() on every nn.Linear: the weights clamped, the bias "
        "kept whatever its sign, its fixed stabiliser 1e-9",
    ),
    # iNNvestigate 2.1.2's analysers, one rule on every Dense layer (no input-layer rule), read
    # from its source and measured (campaigns/innvestigate/): its safe_divide replaces only an
    # exact zero denominator (by 1e-7), which 0/0 -> 0 matches wherever the numerators are 0 too
    "innvestigate-z": Preset(Composite(LRP0()), "iNNvestigate lrp.z: ZRule, the bias a source"),
    "innvestigate-epsilon": Preset(
        Composite(Epsilon(1e-7)), "iNNvestigate lrp.epsilon: EpsilonRule, ε = K.epsilon() = 1e-7"
    ),
    "innvestigate-z-plus": Preset(
        Composite(ZPlus(bias="ignored")),
        "iNNvestigate lrp.z_plus (= lrp.alpha_1_beta_0_IB): contributions split, no bias",
    ),
    "innvestigate-z-plus-fast": Preset(
        Composite(ZPlus(bias="ignored", sign_aware=False)),
        "iNNvestigate lrp.z_plus_fast: the weights clamped (x w⁺, any sign of x), no bias",
    ),
    "innvestigate-alpha-1-beta-0": Preset(
        Composite(ZPlus(bias="whole")),
        "iNNvestigate lrp.alpha_1_beta_0: contributions split, the whole bias in the sum",
    ),
    "innvestigate-alpha-1-beta-0-ib": Preset(
        Composite(ZPlus(bias="ignored")),
        "iNNvestigate lrp.alpha_1_beta_0_IB: contributions split, no bias",
    ),
    "innvestigate-alpha-2-beta-1": Preset(
        Composite(AlphaBeta(2.0, 1.0, bias="whole")),
        "iNNvestigate lrp.alpha_2_beta_1: contributions split, the whole bias in both sums",
    ),
    "innvestigate-alpha-2-beta-1-ib": Preset(
        Composite(AlphaBeta(2.0, 1.0, bias="ignored")),
        "iNNvestigate lrp.alpha_2_beta_1_IB: contributions split, no bias",
    ),
}


def build_rule(name: str, parameters: dict[str, Any]) -> Rule:
    """The rule ``name`` (a key of :data:`RULE_KINDS`) with ``parameters`` (the others at their
    defaults); ValueError naming what the rule takes, or what it lacks."""
    kind = RULE_KINDS[name]
    switches = {attribute for attribute, _ in kind.flags.values()}  # gamma's sign_aware
    unknown = [key for key in parameters if key not in kind.parameters and key not in switches]
    if unknown:
        takes = ", ".join(f"--{p}" for p in kind.parameters) or "no parameters"
        bad = ", ".join(f"--{k.replace('_', '-')}" for k in unknown)
        raise ValueError(f"lrp-{name} takes {takes}; got {bad}")
    missing = [key for key in kind.required if key not in parameters]
    if missing:
        raise ValueError(f"lrp-{name} needs {' and '.join('--' + k for k in missing)}")
    return kind.build(**parameters)


def with_parameters(rule: Rule, parameters: dict[str, Any]) -> Rule:
    """``rule`` with some parameters replaced (``{"epsilon": 0.01}``); ValueError naming what
    the rule takes if it has no such parameter."""
    name, kind = _kind_of(rule)
    switches = {attribute for attribute, _ in kind.flags.values()}
    unknown = [key for key in parameters if key not in kind.parameters and key not in switches]
    if unknown:
        takes = ", ".join(f"--{p}" for p in kind.parameters) or "no parameters"
        bad = ", ".join(f"--{'weights-once' if k == 'sign_aware' else k}" for k in unknown)
        raise ValueError(f"lrp-{name} takes {takes}; got {bad}")
    current = {key: getattr(rule, key) for key in (*kind.parameters, *switches)}
    current.update(parameters)
    return kind.build(**current)
