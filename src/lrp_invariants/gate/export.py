"""A gate run's results as CI systems read them: JUnit XML (the test-report view), JSON (a
dashboard, a script) and GitHub Actions workflow commands (an annotation on the pull request,
at the target's source line).

Each export takes a sequence of :class:`GateRun`: one per target a command gated. Nothing here
runs the gate; the text of a failure is the report's own (:meth:`GateReport.failure_lines`)."""

from __future__ import annotations

import inspect
import json
import math
import os
import platform
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .report import GateReport, PropertyReport

JSON_FORMAT = 1
"""The version of the JSON layout (a key of the file): raised when a key changes meaning."""


@dataclass(frozen=True)
class GateRun:
    """One target's gate run, as the exports read it: the report, the command that replays a
    failing property (as the text report prints it), and the function gated (whose source file
    and first line an annotation points at)."""

    report: GateReport
    replay: Callable[[PropertyReport], str] | None = None
    function: Callable[..., Any] | None = None


def verdict(prop: PropertyReport) -> str:
    """``pass``, ``fail``, ``unsupported`` (the target declined a case), or ``skipped`` for a
    property no case reached (the search ended, on
    a hang, before it ran)."""
    if not prop.ok:
        return "unsupported" if prop.unsupported else "fail"
    return "skipped" if prop.skipped else "pass"


def _first_line(prop: PropertyReport) -> str:
    lines = str(prop.failure).splitlines()
    return lines[0] if lines else ""


def _failure_kind(prop: PropertyReport) -> str:
    if prop.hung:
        return "TargetHung"
    if prop.unsupported:
        return "TargetUnsupported"
    return "TargetMisbehaved" if prop.misbehaved else "InvariantViolation"


def _suite_name(report: GateReport) -> str:
    return f"lrp-invariants: {report.target} claims {report.method}"


def _text(value: Any) -> str:
    """A setting as XML text: ``none``, ``true`` and ``false`` as JSON writes them."""
    return json.dumps(value) if value is None or isinstance(value, bool) else str(value)


_NOT_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot hold (a target's error message may have
    them: NUL, escape codes) written as ``\\xNN``."""
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def _seconds(value: float) -> str:
    return f"{value:.3f}"


# ---------------------------------------------------------------------------------------- JUnit


def junit_element(runs: Sequence[GateRun]) -> ET.Element:
    """``<testsuites>`` with one ``<testsuite>`` per target and one ``<testcase>`` per
    property: a failing one holds ``<failure>`` (its first line as the message, the report's
    text of it, with the counterexample and the replay command, as the body), one no case
    reached ``<skipped/>``. The suite's ``<properties>`` name the claim and the options."""
    root = ET.Element("testsuites", name="lrp-invariants")
    stamp = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    total_time = 0.0
    for index, run in enumerate(runs):
        report = run.report
        verdicts = [verdict(prop) for prop in report.properties]
        counts = {
            "tests": len(verdicts),
            "failures": verdicts.count("fail"),
            # a misbehaving target fails a property; one that declines a case could not be
            # judged there (NotImplementedError): an error, not a failure
            "errors": verdicts.count("unsupported"),
            "skipped": verdicts.count("skipped"),
        }
        seconds = sum(prop.seconds for prop in report.properties)
        attributes = {
            "name": _suite_name(report),
            **{key: str(value) for key, value in counts.items()},
            "time": _seconds(seconds),
            "timestamp": stamp,
            "hostname": platform.node() or "localhost",
            "id": str(index),
            "package": report.target,
        }
        suite = ET.SubElement(root, "testsuite", attributes)
        properties = ET.SubElement(suite, "properties")
        for name, value in _settings(report).items():
            ET.SubElement(properties, "property", name=name, value=_text(value))
        for prop, outcome in zip(report.properties, verdicts, strict=True):
            case = ET.SubElement(
                suite,
                "testcase",
                classname=report.target,
                name=prop.name,
                time=_seconds(prop.seconds),
            )
            if outcome in ("fail", "unsupported"):
                failure = ET.SubElement(
                    case,
                    "failure" if outcome == "fail" else "error",
                    message=_xml(_first_line(prop)),
                    type=_failure_kind(prop),
                )
                failure.text = _xml("\n".join(report.failure_lines(prop, run.replay)))
            elif outcome == "skipped":
                ET.SubElement(
                    case,
                    "skipped",
                    message="not searched: a call hung, which ended the search before any "
                    "case reached this property",
                )
        ET.SubElement(suite, "system-out").text = _xml(report.render(run.replay))
        ET.SubElement(suite, "system-err")
        for key, value in counts.items():
            totals[key] += value
        total_time += seconds
    root.attrib.update({key: str(value) for key, value in totals.items()})
    root.set("time", _seconds(total_time))
    return root


def junit_xml(runs: Sequence[GateRun]) -> str:
    """:func:`junit_element` as a UTF-8 XML document."""
    root = junit_element(runs)
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{text}\n'


def write_junit_xml(path: Path, runs: Sequence[GateRun]) -> Path:
    """Write :func:`junit_xml` to ``path`` (its folder made if missing)."""
    return _write(path, junit_xml(runs))


# ----------------------------------------------------------------------------------------- JSON


def _settings(report: GateReport) -> dict[str, Any]:
    return {
        "target": report.target,
        "method": report.method,
        "architecture": report.architecture,
        "dtype": report.dtype,
        "arithmetic": report.arithmetic,
        "seed": report.seed,
        "deterministic": report.deterministic,
        # cases drawn after the first failing one where the search ended (null: every example)
        "search_ended": report.search_ended,
    }


def _number(value: float) -> float | str:
    """A float JSON can hold: itself when finite, else ``"inf"`` / ``"-inf"`` / ``"nan"``
    (JSON has no infinity; ``float()`` reads the string back)."""
    value = float(value)
    return value if math.isfinite(value) else repr(value)


def _size(size: tuple[float, float] | None) -> dict[str, float | str] | None:
    if size is None:
        return None
    return {"x_tolerance": _number(size[0]), "x_value": _number(size[1])}


def _path(path: Path | None) -> str | None:
    return None if path is None else str(path)


def property_row(
    report: GateReport, prop: PropertyReport, replay: Callable[[PropertyReport], str] | None
) -> dict[str, Any]:
    """One property's row of ``report``, in plain JSON types: its verdict and counts, the
    failure (its first comparison, and the report's whole text of it), the saved cases and the
    replay command."""
    worst = prop.worst
    return {
        "name": prop.name,
        "verdict": verdict(prop),
        "cases": prop.examples,
        "worst_ratio": _number(prop.worst_ratio),
        "unbounded": prop.vacuous,
        "compared": prop.compared,
        "seconds": prop.seconds,
        "failure": None if prop.ok else str(prop.failure),
        "failure_kind": None if prop.ok else _failure_kind(prop),
        # the starts from which every failing case holds (only where the start is the cause)
        "holding_starts": list(prop.holding_starts),
        "details": None if prop.ok else "\n".join(report.failure_lines(prop, replay)),
        "minimised": None if prop.case is None else prop.minimised,
        "counterexample": _path(prop.saved),
        "counterexample_size": _size(prop.size),
        "largest_error_case": None if worst is None else _path(worst.saved),
        "largest_error_size": None if worst is None else _size(worst.size),
        "replay": None if prop.ok or replay is None else replay(prop),
    }


def results(runs: Sequence[GateRun]) -> dict[str, Any]:
    """Every target's claim, options and property rows (see :func:`property_row`), with the
    overall verdict: a dict of plain types, ``json.dumps`` as it is."""
    return {
        "format": JSON_FORMAT,
        "ok": all(run.report.ok for run in runs),
        "targets": [
            {
                **_settings(run.report),
                "ok": run.report.ok,
                "properties": [
                    property_row(run.report, prop, run.replay) for prop in run.report.properties
                ],
            }
            for run in runs
        ],
    }


def results_json(runs: Sequence[GateRun]) -> str:
    """:func:`results` as strict JSON (no NaN or Infinity literals)."""
    return json.dumps(results(runs), indent=2, allow_nan=False) + "\n"


def write_json(path: Path, runs: Sequence[GateRun]) -> Path:
    """Write :func:`results_json` to ``path`` (its folder made if missing)."""
    return _write(path, results_json(runs))


# ------------------------------------------------------------------------------- GitHub Actions


def under_github_actions(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this runs in a GitHub Actions job (``GITHUB_ACTIONS=true``)."""
    return (os.environ if environ is None else environ).get("GITHUB_ACTIONS") == "true"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def source_location(function: Callable[..., Any] | None) -> tuple[str, int] | None:
    """The file (relative to the working directory when under it) and first line of
    ``function``'s source, seen through wrappers that set ``__wrapped__``; None when Python
    cannot tell (a builtin, a lambda typed at a prompt, a callable object)."""
    if function is None:
        return None
    try:
        function = inspect.unwrap(function)
        file = inspect.getsourcefile(function)
        _, line = inspect.getsourcelines(function)
    except (TypeError, OSError, ValueError):
        return None
    if file is None:
        return None
    path = Path(file).resolve()
    try:
        shown = path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        shown = path.as_posix()
    return shown, max(int(line), 1)


def github_annotations(runs: Sequence[GateRun]) -> list[str]:
    """One ``::error`` workflow command per failing property, at the target's source file and
    first line where known, titled ``lrp-invariants PROPERTY``, the failure's first line as the
    message (``%``, CR and LF escaped as GitHub requires, and ``:`` and ``,`` in the file and
    title)."""
    commands = []
    for run in runs:
        where = source_location(run.function)
        for prop in run.report.properties:
            if prop.ok:
                continue
            fields = (
                [] if where is None else [f"file={_escape_property(where[0])}", f"line={where[1]}"]
            )
            fields.append(f"title={_escape_property(f'lrp-invariants {prop.name}')}")
            commands.append(f"::error {','.join(fields)}::{_escape_data(_first_line(prop))}")
    return commands


def _write(path: Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
