"""The record of flags every method was before it had a family module of its own.

Each family moves from here to its own module (a :class:`~.base.Method` subclass): this one
answers the hooks of :mod:`.base` by branching on the flags of the methods still here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import targets
from ..bounds import Ball, enclose_forward
from ..bounds.patterns import enclose_pattern_method
from ..cases import SeedCase
from ..network import Array, Network
from .base import ALWAYS, Family, Method, ordered

if TYPE_CHECKING:
    from hypothesis import strategies as st


@dataclass(frozen=True, kw_only=True)
class FlagMethod(Method):
    """A method described by flags: ``fitted`` makes it learn from data."""

    # PatternNet, PatternAttribution: the target learns from a data set
    fitted: bool = False

    @property
    def learns_from_data(self) -> bool:
        return self.fitted

    @property
    def extra_arguments(self) -> tuple[str, ...]:
        return ("data",) if self.fitted else ()

    def arguments(
        self, case: SeedCase, rows: Array | slice = slice(None), where: str = "net1"
    ) -> dict[str, Array]:
        if self.fitted:
            if case.data is None:
                raise ValueError(f"{self.name} learns from data: draw cases with_data")
            return {"data": case.data if where == "net1" else case.data_shifted}
        return {}

    def prepare_cases(self, cases: st.SearchStrategy[SeedCase]) -> st.SearchStrategy[SeedCase]:
        from .. import strategies as lst  # strategies imports the configurations: no cycle

        return lst.with_data(cases) if self.fitted else cases

    def enclosure(self, case: SeedCase, role: str) -> Ball:
        if self.fitted:
            return case.pattern_enclosure(self.name, {"net1": "net1", "net2": "net2"}[role])
        raise ValueError(f"{self.name} has no enclosure")

    def enclosure_on(self, case: SeedCase, network: Network) -> Ball:
        if self.fitted:
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
        raise ValueError(f"{self.name} has no enclosure")


_PATTERN_PROPERTIES = ("input-invariance", "permutation", "rescaling", "batch-consistency")


def pattern_method(name: str) -> Method:
    """PatternNet (``pattern-net``) or PatternAttribution (``pattern-attribution``) with
    patterns learned from the data the gate passes as ``data``."""
    references = {
        "pattern-net": targets.pattern_net,
        "pattern-attribution": targets.pattern_attribution,
    }
    if name not in references:
        raise ValueError(f"unknown pattern method {name!r}; choose one of {list(references)}")
    return FlagMethod(
        name,
        references[name],  # type: ignore[arg-type]
        ordered((*_PATTERN_PROPERTIES, *ALWAYS)),
        fitted=True,
    )


PATTERNS = Family((pattern_method("pattern-net"), pattern_method("pattern-attribution")))
