"""What the methods that explain against a reference point ``x0`` share (integrated gradients
and its quadratures, DeepLIFT): a baseline, zeros or given with every call; an exact value
enclosed on the case's :class:`~lrp_invariants.cases.ReferenceCase`; completeness.

Only a baseline that moves with the input (``given``: the gate passes ``x0 + m`` on net2) makes
them input-invariant (Kindermans et al.).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..bounds import Ball
from ..cases import ReferenceCase, SeedCase
from ..network import Array, Network
from .base import Method, parse_options

if TYPE_CHECKING:
    from hypothesis import strategies as st

BASELINES = ("zero", "given")
"""A reference method's baseline: zeros (Captum's default), or given with every call."""

Encloser = Callable[[ReferenceCase, str, str], Ball]
"""``fn(reference_case, exact, where) -> ball``: how a family encloses the exact value named
``exact`` at ``where`` (see :meth:`ReferenceCase.arrays`)."""


def check_baseline(baseline: str) -> None:
    """ValueError unless ``baseline`` is one of :data:`BASELINES`."""
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}; got {baseline!r}")


def parse_baseline_options(
    name: str, options: str, extra: tuple[str, ...] = (), hint: str = ""
) -> dict[str, str]:
    """``baseline=given`` and the family's ``extra`` options (``hint`` says what they take) as
    a dict; ValueError naming what ``name`` takes."""
    takes = "baseline=zero or baseline=given" + hint
    parsed = parse_options(name, options, ("baseline", *extra), takes)
    if parsed.get("baseline", "zero") not in BASELINES:
        raise ValueError(
            f"unknown baseline {parsed['baseline']!r}; a reference method takes baseline=zero "
            "or baseline=given"
        )
    return parsed


@dataclass(frozen=True, kw_only=True)
class BaselineMethod(Method):
    """A method held to an exact value against ``x0``: ``exact`` names it (as
    :meth:`ReferenceCase.enclosure` does), ``baseline`` says whether targets are given ``x0``."""

    exact: str
    baseline: str = "zero"

    @property
    def takes_baseline(self) -> bool:
        return self.baseline == "given"

    @property
    def multiplies_by_inputs(self) -> bool:
        return True  # (x - x0) times an average or secant slope

    @property
    def extra_arguments(self) -> tuple[str, ...]:
        return ("baseline",) if self.takes_baseline else ()

    def arguments(
        self, case: SeedCase, rows: Array | slice = slice(None), where: str = "net1"
    ) -> dict[str, Array]:
        return self.baseline_call(case.reference_case.x0[rows])

    def baseline_call(self, x0: Array) -> dict[str, Array]:
        """The keyword arguments that give a target the baseline ``x0``: none when it assumes
        zeros."""
        return {"baseline": x0} if self.takes_baseline else {}

    def prepare_cases(self, cases: st.SearchStrategy[SeedCase]) -> st.SearchStrategy[SeedCase]:
        if not self.takes_baseline:
            return cases
        from .. import strategies as lst  # strategies imports the configurations: no cycle

        return lst.with_references(cases)

    @property
    def exact_value(self) -> str:
        return self.exact

    def enclosure(self, case: SeedCase, role: str) -> Ball:
        where = {"net1": "net1", "net2": "net2"}[role]  # net3 and the proxy: no claim uses them
        return case.reference_case.enclosure(self.exact, where)

    def enclosure_on(self, case: SeedCase, network: Network) -> Ball:
        changed = SeedCase(network, case.x1, case.m, case.classes, case.flush)
        return ReferenceCase(changed, case.reference_case.x0).enclosure(self.exact)
