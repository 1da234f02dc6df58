"""LRP: one rule on every layer, a composite of rules per layer, or a library's preset; its
properties derived from its rules (:func:`~lrp_invariants.configuration.implied_properties`).

LRP is not input-invariant, and should not be: a shifted input moves relevance between the
input and the first bias. αβ splits the contributions of ``x3`` and ``-m`` by sign separately,
so its shift decomposition fails; ε does not commute with rescaling a unit, whose
pre-activation then meets the same ε at another scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from .. import targets
from ..bounds import (
    Ball,
    ForwardBalls,
    LayerBalls,
    Precision,
    add,
    enclose_relevance,
    total,
)
from ..bounds.starts import start_ball
from ..cnn import CNN, CNNRules, explain
from ..cnn.bounds import CNNBalls, enclose_cnn_forward, enclose_cnn_relevance
from ..cnn.bounds.conservation import cnn_conservation_bound
from ..cnn.canonize import fold_batch_norms
from ..cnn.conv import Conv
from ..cnn.relevance import weighted_layers
from ..configuration import (
    PRESETS,
    RULE_KINDS,
    Composite,
    build_rule,
    composite_target,
    implied_properties,
    parse_composite,
    parse_rule,
    rule_spec,
    with_parameters,
)
from ..network import Array, Network, Start, check_start
from ..rules import LRP0, AlphaBeta, Epsilon, Flat, Gamma, Rule, WSquare, ZPlus
from .base import Conservation, Family, Method, NetworkMethod

if TYPE_CHECKING:
    from hypothesis import strategies as st

    from ..cases import SeedCase


@dataclass(frozen=True, kw_only=True)
class LRPMethod(NetworkMethod):
    """LRP with ``composite``'s rule on each Linear layer, its relevance started at the chosen
    logit, at one, at the probability, or given by the caller (``start``,
    :data:`~lrp_invariants.network.STARTS`): targets then take it as a fifth argument,
    ``relevance`` (n, outputs), drawn into every case."""

    composite: Composite
    start: str = "logit"

    def with_start(self, start: str) -> Method:
        if check_start(start) == self.start:
            return self
        spec = self.spec.removesuffix(f" start={self.start}")
        return replace(
            self,
            start=start,
            spec=spec if start == "logit" else f"{spec} start={start}",
            reference=composite_target(self.composite, start),
        )

    @property
    def multiplies_by_inputs(self) -> bool:
        return True  # the input layer's contributions are x times the weights

    @property
    def extra_arguments(self) -> tuple[str, ...]:
        return ("relevance",) if self.start == "given" else ()

    def arguments(
        self, case: SeedCase, rows: Array | slice = slice(None), where: str = "net1"
    ) -> dict[str, Array]:
        # every network of a case has net1's outputs: the same relevance starts on each
        return {} if self.start != "given" else {"relevance": _given(case)[rows]}

    def prepare_cases(self, cases: st.SearchStrategy[SeedCase]) -> st.SearchStrategy[SeedCase]:
        if self.start != "given":
            return cases
        from .. import strategies as lst  # strategies imports the configurations: no cycle

        return lst.with_starting_relevance(cases)

    def _start(self, case: SeedCase) -> Start:
        """Where relevance starts on ``case``: the name, or the case's given relevance."""
        return _given(case) if self.start == "given" else self.start

    def enclose_for(self, case: SeedCase, network: Network, forward: ForwardBalls) -> Ball:
        return self.enclose_layers_for(case, network, forward)[0].R

    def enclose_layers_for(
        self, case: SeedCase, network: Network, forward: ForwardBalls
    ) -> tuple[LayerBalls, ...]:
        rules = self.rules_for(network)
        return enclose_relevance(
            network, forward, case.classes, rules, case.precision, self._start(case)
        )

    def rules_for(self, network: Network) -> tuple[Rule, ...]:
        """Each Linear layer's rule."""
        return self.composite.rules_for(network.depth)

    def _enclose(
        self, network: Network, forward: ForwardBalls, classes: ArrayLike, p: Precision
    ) -> Ball:
        return self._enclose_layers(network, forward, classes, p)[0].R

    def _enclose_layers(
        self, network: Network, forward: ForwardBalls, classes: ArrayLike, p: Precision
    ) -> tuple[LayerBalls, ...]:
        return enclose_relevance(network, forward, classes, self.rules_for(network), p, self.start)

    def _enclose_role(self, case: SeedCase, role: str) -> Ball:
        if role == "proxy":  # the input layer of the per-layer balls conservation needs anyway
            return self.proxy_layers(case)[0].R
        return super()._enclose_role(case, role)

    @property
    def on_cnns(self) -> bool:
        if self.start == "given":  # CNN cases carry no starting relevance (yet)
            return False
        composite = self.composite
        if composite.layers is not None or composite.unset:  # a fixed depth; a missing rule
            return False
        return all(rule.enclosed_on_cnns for rule in composite.cnn_rules())

    @property
    def decomposes_on_cnns(self) -> bool:
        """Shift decomposition on CNNs: the first weighted layer's rule (a convolution's, by
        kind, or a dense one's) is linear in the contributions."""
        return all(rule.linear_in_contributions for rule in self.composite.first_rules_on_cnns())

    def explained_cnn(self, cnn: CNN) -> CNN:
        """The CNN the rules run on: ``cnn``, its batch norms merged into the convolution
        before them where the composite says so (a canonizer)."""
        return fold_batch_norms(cnn, "left") if self.composite.merge_batch_norms else cnn

    def cnn_rules(self, cnn: CNN) -> CNNRules:
        """On a CNN, the composite's rule at each convolution and dense layer (in forward
        order: a residual branch before its downsample; by position, or by kind), and its
        rules at average pooling, batch norms and residual sums (the z-rule, LRP-0, where it
        sets none); winner-take-all at max pooling."""
        kinds = [isinstance(layer, Conv) for layer in weighted_layers(cnn.layers)]
        composite = self.composite
        return CNNRules(
            weighted=composite.weighted_rules(kinds),
            pooling=composite.at_kind("pooling"),
            batch_norm=composite.at_kind("batch_norm"),
            sums=composite.at_kind("sums"),
        )

    def _cnn_balls(self, cnn: CNN, balls: CNNBalls, p: Precision) -> tuple[CNN, CNNBalls]:
        explained = self.explained_cnn(cnn)
        if explained is cnn:
            return cnn, balls
        return explained, enclose_cnn_forward(explained, balls.inputs[0], p)

    def cnn_relevance(self, cnn: CNN, x: Array, classes: ArrayLike) -> Array:
        explained = self.explained_cnn(cnn)
        return explain(explained, x, classes, self.cnn_rules(explained), self.start)[1].input

    def enclose_cnn(self, cnn: CNN, balls: CNNBalls, classes: ArrayLike, p: Precision) -> Ball:
        cnn, balls = self._cnn_balls(cnn, balls, p)
        return enclose_cnn_relevance(cnn, balls, classes, self.cnn_rules(cnn), p, self.start)[0].R

    def conservation(self, case: SeedCase) -> Conservation:
        layers, p = self.proxy_layers(case), case.precision
        logits = case.proxy_balls.z[-1]
        unassigned = _unassigned(layers, p)
        return Conservation.of_layers(
            layers, logits, case.classes, unassigned, p, start=self._start(case)
        )

    @property
    def conserves_on_cnns(self) -> bool:
        return all(rule.conservation_on_cnns for rule in self.composite.cnn_rules())

    def cnn_conservation(
        self, cnn: CNN, balls: CNNBalls, classes: ArrayLike, p: Precision
    ) -> Conservation:
        """On a CNN without sources: the chosen logit, every sink the rules keep back (the
        stabilisers, empty sides) and the CNN layers' rounding bound."""
        cnn, balls = self._cnn_balls(cnn, balls, p)
        layers = enclose_cnn_relevance(cnn, balls, classes, self.cnn_rules(cnn), p, self.start)
        kept = layers[0].sinks
        for layer in layers[1:]:
            kept = add(kept, layer.sinks, p)
        logit = start_ball(balls.logits, classes, self.start, p)
        # a ball with no bound (an unbounded share met a zero: NaN) bounds nothing: infinite
        unbounded = np.isnan(kept.mid) | np.isnan(kept.rad)
        kept = Ball(np.where(unbounded, 0.0, kept.mid), np.where(unbounded, np.inf, kept.rad))
        rounding = cnn_conservation_bound(layers, p)
        return Conservation(logit, kept, np.where(np.isnan(rounding), np.inf, rounding))

    def describe(self) -> str:
        start = "" if self.start == "logit" else f", started at {self.start}"
        if self.start == "given":
            start = ", started at a given relevance"
        if self.spec == self.name:  # a built-in method: its name says its configuration
            return self.name
        if self.spec == f"{self.name} start={self.start}":
            return f"{self.name} ({start.removeprefix(', ')})"
        return f"{self.name} ({self.composite.describe()}{start})"

    def with_parameters(self, parameters: dict[str, Any]) -> Method:
        if not self.composite.single:
            return super().with_parameters(parameters)
        return lrp_method(with_parameters(self.composite.hidden, parameters)).with_start(self.start)


def _given(case: SeedCase) -> Array:
    """The case's starting relevance, or ValueError saying that cases need one drawn in."""
    if case.relevance is None:
        raise ValueError(
            "LRP started at a given relevance needs cases that carry one "
            "(strategies.with_starting_relevance)"
        )
    return case.relevance


def _unassigned(layers: Sequence[LayerBalls], p: Precision) -> Ball:
    """All relevance the rules kept back (``Rs``) over the network, per sample."""
    per_layer = [total(layer.Rs, axis=1, p=p) for layer in layers]
    result = per_layer[0]
    for ball in per_layer[1:]:
        result = add(result, ball, p)
    return result


def lrp_method(composite: Composite | Rule, name: str | None = None) -> Method:
    """The gate's method for LRP with ``composite`` (or one rule on every layer), its
    properties derived from the rules."""
    if isinstance(composite, Rule):
        composite = Composite(composite)
    single = composite.single
    if name is None:
        name = composite.hidden.name if single else "lrp-composite"
    spec = "lrp-" + rule_spec(composite.hidden) if single else f"lrp-composite {composite.spec()}"
    return LRPMethod(
        name,
        composite_target(composite),
        implied_properties(composite),
        spec,
        composite=composite,
    )


_RULE_ONLY = ("zbox",)  # a rule without defaults for every parameter: no built-in method


def parse(text: str) -> Method | None:
    """A rule spec (``lrp-epsilon:0.01``), a composite (``lrp-composite first=flat
    hidden=epsilon``) or a preset (``lrp-composite zennit-epsilon-plus-flat``); None if
    ``text`` names no LRP configuration."""
    rest, start = split_start(text)
    if start is not None:  # ``lrp-epsilon start=one``: the method, then where it starts
        method = next((m for m in METHODS if m.spec == rest), None) or parse(rest)
        if method is None:
            raise ValueError(f"{text!r}: unknown LRP method {rest!r}")
        return method.with_start(start)
    if text.startswith("lrp-composite"):
        rest = text.removeprefix("lrp-composite").strip()
        if not rest:
            raise ValueError(
                "lrp-composite needs its rules: first=RULE hidden=RULE last=RULE, or a preset: "
                + ", ".join(PRESETS)
            )
        method = lrp_method(parse_composite(rest))
        return method if rest not in PRESETS else replace(method, spec=f"lrp-composite {rest}")
    if (text.startswith("lrp-") and ":" in text) or text.removeprefix("lrp-") in _RULE_ONLY:
        return lrp_method(parse_rule(text))
    return None


def split_start(text: str) -> tuple[str, str | None]:
    """``text`` without its ``start=...`` word, and that start (None if it has none);
    ValueError for a start outside LRP or two different starts."""
    words = text.split()
    starts = {word.removeprefix("start=") for word in words if word.startswith("start=")}
    if not starts:
        return text, None
    if not text.strip().startswith("lrp-"):
        raise ValueError(f"{text!r}: a start (start=one) is part of an LRP claim")
    if len(starts) > 1:
        raise ValueError(f"{text!r}: one start, not {', '.join(sorted(starts))}")
    (start,) = starts
    return " ".join(word for word in words if not word.startswith("start=")), check_start(start)


def from_rule_options(text: str, parameters: dict[str, Any]) -> Method | None:
    """``--method lrp-zbox --low 0 --high 1``: the rule ``text`` names built from options
    alone (a rule without defaults for every parameter has no method to start from); None if
    ``text`` names no rule or no options are given."""
    rest, start = split_start(text)
    name = rest.strip().removeprefix("lrp-")
    if parameters and name in RULE_KINDS:
        method = lrp_method(build_rule(name, parameters))
        return method if start is None else method.with_start(start)
    return None


def from_composite_options(
    preset: str | None, roles: Mapping[str, str | None], parameters: dict[str, Any]
) -> Method:
    """``--composite PRESET`` or ``--first RULE --hidden RULE --last RULE``; ValueError naming
    the fix."""
    if parameters:
        raise ValueError("a composite takes its parameters inside each rule: --hidden epsilon:1e-6")
    if preset is not None:
        if any(roles.values()):
            raise ValueError("give --composite or --first/--hidden/--last, not both")
        method = parse(f"lrp-composite {preset}")
        assert method is not None
        return method
    hidden, first, last = roles.get("hidden"), roles.get("first"), roles.get("last")
    if hidden is None:
        raise ValueError("a composite needs --hidden RULE (the rule between first and last)")
    return lrp_method(
        Composite(
            parse_rule(hidden),
            first=parse_rule(first) if first else None,
            last=parse_rule(last) if last else None,
        )
    )


def _builtin(rule: Rule) -> Method:
    method = lrp_method(rule)
    return replace(method, spec=method.name)


METHODS: tuple[Method, ...] = tuple(
    _builtin(rule)
    for rule in (
        LRP0(),
        Epsilon(targets.EPSILON),
        AlphaBeta(2.0, 1.0),
        ZPlus(),
        Gamma(0.25),
        WSquare(),
        Flat(),
    )
)
"""The family's built-in methods: one rule on every layer, each with its default parameters."""

FAMILY = Family(METHODS, parse)
