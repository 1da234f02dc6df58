"""pytest plugin: ``pytest --lrp-target=TARGET --lrp-method=METHOD`` adds one test per property
that METHOD implies, run against TARGET (``package.module:function`` or ``file.py:function``).

``pytest --lrp-configured`` adds one test per target and property of the nearest
``pyproject.toml``'s ``[tool.lrp-invariants]`` section (:mod:`lrp_invariants.config`).

The gate's options are the command line's, prefixed: ``--lrp-examples``, ``--lrp-seed``,
``--lrp-arithmetic``, ``--lrp-dtype``, ``--lrp-property``, ... (declared once, in
:mod:`lrp_invariants.defaults`), read into one :class:`~lrp_invariants.gate.GateOptions`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from .defaults import add_flags, parsed_options

if TYPE_CHECKING:
    from .gate import GateOptions
    from .methods import Method

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
    group.addoption(
        "--lrp-configured",
        action="store_true",
        default=False,
        help="gate every target of the nearest pyproject.toml's [tool.lrp-invariants] section, "
        "one test per target and property (--lrp-* options override the file's)",
    )
    add_flags(group.addoption, prefix=_PREFIX)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if config.getoption("lrp_configured"):
        items.extend(_configured_items(session, config))
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


def _configured_items(session: pytest.Session, config: pytest.Config) -> list[GateItem]:
    """One item per property of each target in ``[tool.lrp-invariants]`` (found from where
    pytest was invoked), with the ``--lrp-*`` options that differ from their defaults over the
    file's."""
    from .cli import UsageError, prepare_configured
    from .defaults import FLAGS
    from .gate import InvalidOption
    from .gate import _properties as checked_properties

    given = parsed_options(config.getoption, prefix=_PREFIX)
    changed = {f.option: given[f.option] for f in FLAGS if given[f.option] != f.default}
    try:
        _, targets = prepare_configured(config.invocation_params.dir)
    except UsageError as error:
        raise pytest.UsageError(str(error)) from None
    items = []
    for target in targets:
        try:
            options = target.options.with_changes(**changed)
            names = checked_properties(target.method, options)
        except InvalidOption as error:
            raise pytest.UsageError(f"{target.spec}: {error}") from None
        items += [
            GateItem.from_parent(
                session,
                name=f"lrp-gate[{target.spec}:{name}]",
                target=target.target,
                spec=target.spec,
                method=target.method,
                prop=name,
                options=options,
            )
            for name in names
        ]
    return items


class GateItem(pytest.Item):
    """One property of the gate, run against the target under test."""

    def __init__(
        self,
        *,
        target: Any,
        spec: str,
        method: str | Method,
        prop: str,
        options: GateOptions,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.target, self.spec, self.method, self.prop = target, spec, method, prop
        self.options = options

    def runtest(self) -> None:
        from .gate import GateFailure, GateReport, run_property
        from .invariants import PROPERTIES
        from .methods import resolve_method

        options = self.options
        method = resolve_method(self.method)
        report = run_property(PROPERTIES[self.prop], self.target, method, options=options)
        if not report.ok:
            gate = GateReport(
                self.spec,
                method.spec,
                options.seed,
                [report],
                options.arithmetic,
                shrunk=options.shrink,
                dtype=options.dtype,
                deterministic=options.deterministic,
                architecture=options.architecture,
            )
            raise GateFailure(gate.render())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        from .gate import GateFailure

        if isinstance(excinfo.value, GateFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, self.name
