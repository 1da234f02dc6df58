"""The record of flags every method was before it had a family module of its own.

Each family moves from here to its own module (a :class:`~.base.Method` subclass): this one
answers the hooks of :mod:`.base` by branching on the flags of the methods still here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import targets
from ..bounds import Ball, add, enclose_forward
from ..bounds.deeplift import enclose_deeplift
from ..bounds.patterns import enclose_pattern_method
from ..cases import ReferenceCase, SeedCase
from ..network import Array, Network
from .base import ALWAYS, Family, Method, ordered
from .baseline import check_baseline, parse_baseline_options

if TYPE_CHECKING:
    from hypothesis import strategies as st


@dataclass(frozen=True, kw_only=True)
class FlagMethod(Method):
    """A method described by flags: ``reference_kind`` and ``baseline`` make it explain
    against ``x0``; ``fitted`` makes it learn from data."""

    # DeepLIFT and integrated gradients: the exact value they are held to
    # ("deeplift-rescale" or "integrated-gradients"), and their baseline: "zero", or "given"
    reference_kind: str | None = None
    baseline: str | None = None
    # PatternNet, PatternAttribution: the target learns from a data set
    fitted: bool = False

    @property
    def takes_baseline(self) -> bool:
        return self.baseline == "given"

    @property
    def learns_from_data(self) -> bool:
        return self.fitted

    @property
    def multiplies_by_inputs(self) -> bool:
        return self.reference_kind is not None

    @property
    def extra_arguments(self) -> tuple[str, ...]:
        if self.baseline == "given":
            return ("baseline",)
        return ("data",) if self.fitted else ()

    def arguments(
        self, case: SeedCase, rows: Array | slice = slice(None), where: str = "net1"
    ) -> dict[str, Array]:
        if self.baseline == "given":
            return {"baseline": case.reference_case.x0[rows]}
        if self.fitted:
            if case.data is None:
                raise ValueError(f"{self.name} learns from data: draw cases with_data")
            return {"data": case.data if where == "net1" else case.data_shifted}
        return {}

    def baseline_call(self, x0: Array) -> dict[str, Array]:
        return {"baseline": x0} if self.baseline == "given" else {}

    def prepare_cases(self, cases: st.SearchStrategy[SeedCase]) -> st.SearchStrategy[SeedCase]:
        from .. import strategies as lst  # strategies imports the configurations: no cycle

        if self.baseline == "given":
            return lst.with_references(cases)
        return lst.with_data(cases) if self.fitted else cases

    @property
    def exact_value(self) -> str:
        if self.reference_kind is None:
            raise ValueError(f"{self.name} explains against no reference point")
        return self.reference_kind

    def enclosure(self, case: SeedCase, role: str) -> Ball:
        if self.reference_kind is not None:
            return case.reference_case.enclosure(
                self.reference_kind, {"net1": "net1", "net2": "net2"}[role]
            )
        if self.fitted:
            return case.pattern_enclosure(self.name, {"net1": "net1", "net2": "net2"}[role])
        raise ValueError(f"{self.name} has no enclosure")

    def enclosure_on(self, case: SeedCase, network: Network) -> Ball:
        p = case.precision
        if self.reference_kind is not None:
            changed = SeedCase(network, case.x1, case.m, case.classes, case.flush)
            return ReferenceCase(changed, case.reference_case.x0).enclosure(self.reference_kind)
        if self.fitted:
            if case.data is None:
                raise ValueError(f"{self.name} learns from data: draw cases with_data")
            return enclose_pattern_method(
                self.name,
                network,
                enclose_forward(network, Ball.exact(case.x1), p=p),
                enclose_forward(network, Ball.exact(case.data), p=p),
                case.classes,
                p,
            )
        raise ValueError(f"{self.name} has no enclosure")


_DEEPLIFT = ("completeness", "permutation", "rescaling", "batch-consistency", *ALWAYS)


def deeplift_method(baseline: str = "zero") -> Method:
    """DeepLIFT-Rescale from a ``zero`` or ``given`` reference."""
    check_baseline(baseline)
    given = baseline == "given"
    reference = targets.deeplift_rescale_from_baseline if given else targets.deeplift_rescale
    return FlagMethod(
        "deeplift-rescale",
        reference,  # type: ignore[arg-type]
        ordered((*_DEEPLIFT, *(("baseline-invariance",) if given else ()))),
        "deeplift-rescale" if not given else "deeplift-rescale:baseline=given",
        reference_kind="deeplift-rescale",
        baseline=baseline,
    )


def parse_deeplift(text: str) -> Method | None:
    name, _, options = text.partition(":")
    if name != "deeplift-rescale":
        return None
    return deeplift_method(parse_baseline_options(name, options).get("baseline", "zero"))


def _enclose_deeplift(reference_case: ReferenceCase, exact: str, where: str) -> Ball:
    case, p = reference_case.case, reference_case.case.precision
    network, _, _ = reference_case.arrays(where)
    forward, reference = reference_case.passes(where)
    delta = add(forward.a[0], Ball(-reference.a[0].mid, reference.a[0].rad), p)
    return enclose_deeplift(network, forward, reference, delta, case.classes, p)


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


DEEPLIFT = Family(
    (deeplift_method(),),
    parse_deeplift,
    (deeplift_method("given"),),
    {"deeplift-rescale": _enclose_deeplift},
)
PATTERNS = Family((pattern_method("pattern-net"), pattern_method("pattern-attribution")))
