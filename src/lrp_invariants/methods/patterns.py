"""PatternNet (the signal) and PatternAttribution, with patterns learned from a data set that
the gate passes as a fifth argument, ``data`` (net2's is ``data + m``, the data it sees).

Patterns are learned from the data each network sees, so both are input-invariant; covariances
of hidden units scaled by ``2**k`` and their gates keep ``W ⊙ A`` and the signal's chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import targets
from ..bounds import Ball, enclose_forward
from ..bounds.patterns import enclose_pattern_method
from ..network import Array, Network
from .base import ALWAYS, Family, Method, Target, ordered

if TYPE_CHECKING:
    from hypothesis import strategies as st

    from ..cases import SeedCase

_IMPLIED = ordered(("input-invariance", "permutation", "rescaling", "batch-consistency", *ALWAYS))

_REFERENCES: dict[str, Target] = {
    "pattern-net": targets.pattern_net,
    "pattern-attribution": targets.pattern_attribution,
}


@dataclass(frozen=True)
class PatternMethod(Method):
    """A pattern method: its name says which exact value it is held to."""

    @property
    def learns_from_data(self) -> bool:
        return True

    @property
    def extra_arguments(self) -> tuple[str, ...]:
        return ("data",)

    def arguments(
        self, case: SeedCase, rows: Array | slice = slice(None), where: str = "net1"
    ) -> dict[str, Array]:
        if case.data is None:
            raise ValueError(f"{self.name} learns from data: draw cases with_data")
        return {"data": case.data if where == "net1" else case.data_shifted}

    def prepare_cases(self, cases: st.SearchStrategy[SeedCase]) -> st.SearchStrategy[SeedCase]:
        from .. import strategies as lst  # strategies imports the configurations: no cycle

        return lst.with_data(cases)

    def enclosure(self, case: SeedCase, role: str) -> Ball:
        where = {"net1": "net1", "net2": "net2"}[role]  # net3 and the proxy: no claim uses them
        return case.pattern_enclosure(self.name, where)

    def enclosure_on(self, case: SeedCase, network: Network) -> Ball:
        if case.data is None:
            raise ValueError(f"{self.name} learns from data: draw cases with_data")
        p = case.precision
        return enclose_pattern_method(
            self.name,
            network,
            enclose_forward(network, Ball.exact(case.x1), p=p),
            enclose_forward(network, Ball.exact(case.data), p=p),
            case.classes,
            p,
        )


def pattern_method(name: str) -> Method:
    """PatternNet (``pattern-net``) or PatternAttribution (``pattern-attribution``) with
    patterns learned from the data the gate passes as ``data``."""
    if name not in _REFERENCES:
        raise ValueError(f"unknown pattern method {name!r}; choose one of {list(_REFERENCES)}")
    return PatternMethod(name, _REFERENCES[name], _IMPLIED)


def parse(text: str) -> Method | None:
    """None: the pattern methods are named, never configured."""
    return None


METHODS: tuple[Method, ...] = tuple(pattern_method(name) for name in _REFERENCES)
"""The family's built-in methods."""

FAMILY = Family(METHODS, parse)
