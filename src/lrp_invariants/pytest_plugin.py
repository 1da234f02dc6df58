"""pytest plugin: ``pytest --lrp-target=TARGET --lrp-method=METHOD`` adds one test per property
that METHOD implies, run against TARGET (``package.module:function`` or ``file.py:function``).

The gate's options are the command line's, prefixed: ``--lrp-examples``, ``--lrp-seed``,
``--lrp-arithmetic``, ``--lrp-dtype``, ``--lrp-property``, ... (declared once, in
:mod:`lrp_invariants.defaults`), read into one :class:`~lrp_invariants.gate.GateOptions`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from .defaults import add_flags, parsed_options

if TYPE_CHECKING:
    from .gate import GateOptions

_PREFIX = "lrp-"


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
    add_flags(group.addoption, prefix=_PREFIX)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    spec = config.getoption("lrp_target")
    if not spec:
        return
    from .cli import UsageError, load_target
    from .gate import GateOptions, InvalidOption
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
        options = GateOptions(**parsed_options(config.getoption, prefix=_PREFIX))
    except InvalidOption as error:
        raise pytest.UsageError(str(error)) from None
    try:
        target = load_target(spec)
    except UsageError as error:
        raise pytest.UsageError(str(error)) from None
    names = options.properties if options.properties is not None else chosen.properties
    for name in names:
        items.append(
            GateItem.from_parent(
                session,
                name=f"lrp-gate[{method}:{name}]",
                target=target,
                spec=spec,
                method=method,
                prop=name,
                options=options,
            )
        )


class GateItem(pytest.Item):
    """One property of the gate, run against the target under test."""

    def __init__(
        self, *, target: Any, spec: str, method: str, prop: str, options: GateOptions, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.target, self.spec, self.method, self.prop = target, spec, method, prop
        self.options = options

    def runtest(self) -> None:
        from .gate import GateFailure, GateReport, run_property
        from .invariants import PROPERTIES
        from .methods import resolve_method

        options = self.options
        report = run_property(
            PROPERTIES[self.prop], self.target, resolve_method(self.method), options=options
        )
        if not report.ok:
            gate = GateReport(
                self.spec,
                self.method,
                options.seed,
                [report],
                options.arithmetic,
                shrunk=options.shrink,
                dtype=options.dtype,
                deterministic=options.deterministic,
            )
            raise GateFailure(gate.render())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        from .gate import GateFailure

        if isinstance(excinfo.value, GateFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, self.name
