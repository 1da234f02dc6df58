"""pytest plugin: ``pytest --lrp-target=TARGET --lrp-method=METHOD`` adds one test per property
that METHOD implies, run against TARGET (``package.module:function`` or ``file.py:function``)."""

from __future__ import annotations

from typing import Any

import pytest

from .defaults import DEFAULT_EXAMPLES


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lrp-invariants", "gate attribution code with lrp-invariants")
    group.addoption(
        "--lrp-target",
        default=None,
        help="attribution function to gate: package.module:function or file.py:function",
    )
    group.addoption(
        "--lrp-method", default=None, help="what the target claims to compute, e.g. lrp-epsilon"
    )
    group.addoption(
        "--lrp-examples", type=int, default=DEFAULT_EXAMPLES, help="examples per property"
    )
    group.addoption("--lrp-seed", type=int, default=None, help="random seed (default: fixed)")
    group.addoption(
        "--lrp-arithmetic",
        choices=("ieee", "ftz"),
        default="ieee",
        help="the target's arithmetic: ieee (gradual underflow) or ftz (flush-to-zero)",
    )
    group.addoption(
        "--lrp-dtype",
        choices=("float64", "float32"),
        default="float64",
        help="the precision of the drawn cases and of every tolerance (default float64)",
    )


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    spec = config.getoption("lrp_target")
    if not spec:
        return
    from .cli import UsageError, load_target
    from .methods import resolve_method

    method = config.getoption("lrp_method")
    if not method:
        raise pytest.UsageError(
            "--lrp-target needs --lrp-method (lrp-epsilon, lrp-gamma:0.25, ...)"
        )
    try:
        chosen = resolve_method(method)
    except ValueError as error:
        raise pytest.UsageError(f"--lrp-method: {error}") from None
    try:
        target = load_target(spec)
    except UsageError as error:
        raise pytest.UsageError(str(error)) from None
    for name in chosen.properties:
        items.append(
            GateItem.from_parent(
                session,
                name=f"lrp-gate[{method}:{name}]",
                target=target,
                spec=spec,
                method=method,
                prop=name,
            )
        )


class GateItem(pytest.Item):
    """One property of the gate, run against the target under test."""

    def __init__(self, *, target: Any, spec: str, method: str, prop: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target, self.spec, self.method, self.prop = target, spec, method, prop

    def runtest(self) -> None:
        from .gate import GateFailure, GateReport, run_property
        from .invariants import PROPERTIES
        from .methods import resolve_method

        report = run_property(
            PROPERTIES[self.prop],
            self.target,
            resolve_method(self.method),
            examples=self.config.getoption("lrp_examples"),
            seed=self.config.getoption("lrp_seed"),
            arithmetic=self.config.getoption("lrp_arithmetic"),
            dtype=self.config.getoption("lrp_dtype"),
        )
        if not report.ok:
            gate = GateReport(
                self.spec,
                self.method,
                self.config.getoption("lrp_seed"),
                [report],
                self.config.getoption("lrp_arithmetic"),
                dtype=self.config.getoption("lrp_dtype"),
            )
            raise GateFailure(gate.render())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        from .gate import GateFailure

        if isinstance(excinfo.value, GateFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, self.name
