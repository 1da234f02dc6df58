"""What each command does with its parsed arguments: ``check`` (one target, or the configured
ones, with the results CI reads), ``replay``, ``demo`` and ``methods``. Each returns an exit
status, or raises :class:`UsageError`."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..invariants import PROPERTIES
from ..progress import ProgressLine
from .loading import load_target
from .options import configured_method
from .prepare import PreparedTarget, prepare, prepare_configured
from .status import EXIT_FAILED, EXIT_OK, UsageError

if TYPE_CHECKING:
    from ..gate import GateReport, PropertyReport
    from ..gate.export import GateRun


def _check(args: argparse.Namespace) -> int:
    _check_outputs(args)
    if args.target is None:
        return _check_configured(args)
    return _finish(args, [_run(prepare(args))])


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse an output path that cannot be a file before any work."""
    for flag, path in (("--junit-xml", args.junit_xml), ("--json", args.json)):
        if path is not None and path.is_dir():
            raise UsageError(f"{flag} {path} is a folder; name a file")


def _finish(args: argparse.Namespace, runs: Sequence[GateRun]) -> int:
    """Write the results CI systems read (JUnit XML, JSON, GitHub annotations under GitHub
    Actions) and return the exit status: 0 if every target passed, 1 otherwise."""
    from ..gate.export import (
        github_annotations,
        under_github_actions,
        write_json,
        write_junit_xml,
    )

    if args.junit_xml is not None:
        write_junit_xml(args.junit_xml, runs)
    if args.json is not None:
        write_json(args.json, runs)
    if under_github_actions():
        for command in github_annotations(runs):
            print(command)
    return EXIT_OK if all(run.report.ok for run in runs) else EXIT_FAILED


def _run(prepared: PreparedTarget) -> GateRun:
    """Gate one prepared target, print its report, and save its failing cases."""
    from ..gate import run_gate
    from ..gate.counterexamples import draw_counterexample, replay_command, save_counterexample
    from ..gate.export import GateRun

    report = run_gate(prepared.target, prepared.method, options=prepared.options)
    if isinstance(prepared.options.progress, ProgressLine):
        prepared.options.progress.clear()
    for prop in report.properties:
        if not prop.ok and prop.case is not None:
            prop.saved = save_counterexample(prepared.folder, prop, report)
            if prop.worst is not None:
                prop.worst.saved = save_counterexample(prepared.folder, prop, report, worst=True)
            if prepared.draw:
                draw_counterexample(prop.saved, prepared.target)

    def replay(prop: PropertyReport) -> str:
        return replay_command(prop, report, prepared.options.examples)

    print(report.render(replay), flush=True)
    return GateRun(report, replay, prepared.function)


def _check_configured(args: argparse.Namespace) -> int:
    """Gate every configured target (:func:`prepare_configured`), the command line's flags
    over the file's, and print one summary line per target."""
    path, prepared = prepare_configured(Path.cwd(), args.words, args.properties is not None)
    runs = []
    for item in prepared:
        runs.append(_run(item))
        print(flush=True)
    print(f"lrp-invariants: {len(runs)} targets from {path}")
    for run in runs:
        print(_summary(run.report))
    return _finish(args, runs)


def _summary(report: GateReport) -> str:
    """One line for a target: its verdict, how many properties held, and which failed."""
    failed = [prop.name for prop in report.properties if not prop.ok]
    skipped = sum(prop.skipped for prop in report.properties)
    total = len(report.properties)
    seconds = sum(prop.seconds for prop in report.properties)
    verdict = (
        f"{len(failed)} of {total} properties failed: {', '.join(failed)}"
        if failed
        else f"{total} of {total} properties hold"
    )
    if skipped:
        verdict += f" ({skipped} not searched)"
    return (
        f"{'PASS' if report.ok else 'FAIL'}  {report.target} claims {report.method}: {verdict} "
        f"({seconds:.1f} s)"
    )


def _replay(args: argparse.Namespace) -> int:
    from ..gate.counterexamples import BadCounterexample, load_counterexample, replay

    try:
        load_counterexample(args.file)  # a bad file is a usage error, found before the target loads
    except BadCounterexample as error:
        raise UsageError(str(error)) from None
    target = load_target(args.target)
    try:
        outcome = replay(args.file, target)
    except BadCounterexample as error:
        raise UsageError(str(error)) from None
    print(outcome.text)
    return EXIT_OK if outcome.ok else EXIT_FAILED


def _methods(args: argparse.Namespace) -> int:
    from ..invariants import property_table

    method = configured_method(args)
    if method is None:
        print(property_table(args.architecture))
        return EXIT_OK
    print(f"{method.describe()}\nspec: {method.spec}")
    for prop in PROPERTIES:
        print(f"  {prop}: {'yes' if prop in method.properties else 'no'}")
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    return run_demo(out=args.out, hidden=tuple(args.hidden), epochs=args.epochs, seed=args.seed)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": _check,
    "replay": _replay,
    "demo": _demo,
    "methods": _methods,
}
"""Each command's action, by the name the parser gives it."""
