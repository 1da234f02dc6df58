"""Results CI systems read: JUnit XML with a testcase per target and property, JSON with every
row, and GitHub Actions annotations at the target's source line; the ``--junit-xml`` and
``--json`` flags of ``check``, and the pre-commit hook."""

from __future__ import annotations

import inspect
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lrp_invariants import targets
from lrp_invariants.cli import main
from lrp_invariants.cnn_cases import cnn_reference
from lrp_invariants.gate import GateReport, PropertyReport, run_gate
from lrp_invariants.gate.export import (
    GateRun,
    github_annotations,
    junit_xml,
    results,
    results_json,
    source_location,
    under_github_actions,
)

ROOT = Path(__file__).resolve().parents[1]


def doubled_gradient(weights: Any, biases: Any, x: Any, classes: Any) -> Any:
    """Twice the gradient: fails the reference, holds the metamorphic properties."""
    return 2 * targets.gradient(weights, biases, x, classes)


FIRST_LINE = inspect.getsourcelines(doubled_gradient)[1]
PROPERTIES = ["batch-consistency", "reference"]


def _replay(prop: PropertyReport) -> str:
    return f"lrp-invariants replay {prop.name}.npz"


@pytest.fixture(scope="module")
def runs() -> list[GateRun]:
    """A passing MLP target, a failing one, and a passing CNN target, ten examples each."""
    passing = run_gate(targets.lrp_epsilon, "lrp-epsilon", properties=PROPERTIES, examples=10)
    failing = run_gate(doubled_gradient, "gradient", properties=PROPERTIES, examples=10)
    cnn = run_gate(
        cnn_reference("lrp-0"),
        "lrp-0",
        properties=["reference"],
        examples=10,
        architecture="cnn",
        target_name="cnn.py:lrp_0",
    )
    assert passing.ok and not failing.ok and cnn.ok
    return [
        GateRun(passing, _replay, targets.lrp_epsilon),
        GateRun(failing, _replay, doubled_gradient),
        GateRun(cnn, _replay, None),
    ]


def _parsed(runs: list[GateRun]) -> ET.Element:
    return ET.fromstring(junit_xml(runs).encode("utf-8"))


def test_junit_xml_has_a_testsuite_per_target_and_a_testcase_per_property(
    runs: list[GateRun],
) -> None:
    root = _parsed(runs)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        f"lrp-invariants: {run.report.target} claims {run.report.method}" for run in runs
    ]
    for suite, run in zip(suites, runs, strict=True):
        cases = suite.findall("testcase")
        assert [(c.get("classname"), c.get("name")) for c in cases] == [
            (run.report.target, prop.name) for prop in run.report.properties
        ]


def test_junit_xml_carries_the_attributes_the_junit_schema_requires(
    runs: list[GateRun],
) -> None:
    root = _parsed(runs)
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        counts = {key: int(suite.get(key, "-1")) for key in ("tests", "failures", "errors")}
        counts["skipped"] = int(suite.get("skipped", "-1"))
        assert counts == {
            "tests": len(cases),
            "failures": sum(c.find("failure") is not None for c in cases),
            "errors": sum(c.find("error") is not None for c in cases),
            "skipped": sum(c.find("skipped") is not None for c in cases),
        }
        assert float(suite.get("time", "")) >= 0 and suite.get("timestamp")
        for case in cases:
            assert case.get("name") and case.get("classname")
            assert float(case.get("time", "")) >= 0
        # the schema's order: properties, testcases, system-out, system-err
        tags = [child.tag for child in suite]
        assert tags[:1] == ["properties"] and tags[-2:] == ["system-out", "system-err"]
    totals = {key: int(root.get(key, "-1")) for key in ("tests", "failures", "errors")}
    assert totals == {
        key: sum(int(s.get(key, "0")) for s in root.findall("testsuite")) for key in totals
    }


def test_a_failing_testcase_holds_the_failure_its_case_and_the_replay_command(
    runs: list[GateRun],
) -> None:
    failing = runs[1].report
    (case,) = [c for c in _parsed(runs).iter("testcase") if c.find("failure") is not None]
    failure = case.find("failure")
    assert failure is not None and case.get("name") == "reference"
    (prop,) = [p for p in failing.properties if not p.ok]
    assert failure.get("message") == str(prop.failure).splitlines()[0]
    assert failure.get("type") == "InvariantViolation"
    text = failure.text or ""
    assert "minimal counterexample" in text and "network" in text
    assert "replay with: lrp-invariants replay reference.npz" in text


def test_a_property_no_case_reached_is_skipped_in_junit_and_json() -> None:
    report = GateReport("t.py:f", "gradient", None, [PropertyReport("reference", "it agrees")])
    run = GateRun(report)
    (case,) = _parsed([run]).iter("testcase")
    assert case.find("skipped") is not None
    assert results([run])["targets"][0]["properties"][0]["verdict"] == "skipped"


def test_junit_xml_holds_a_failure_message_with_characters_xml_cannot() -> None:
    prop = PropertyReport("reference", "it agrees", failure="bad \x00\x1b[31m value")
    report = GateReport("t.py:f", "gradient", None, [prop])
    (failure,) = _parsed([GateRun(report)]).iter("failure")
    assert failure.get("message") == "bad \\x00\\x1b[31m value"


def test_a_junit_reader_reads_the_xml_back(runs: list[GateRun], tmp_path: Path) -> None:
    import junitparser  # the [test] extra installs it

    path = tmp_path / "results.xml"
    path.write_text(junit_xml(runs))
    xml = junitparser.JUnitXml.fromfile(str(path))
    suites = list(xml)
    assert len(suites) == len(runs)
    assert [suite.tests for suite in suites] == [len(run.report.properties) for run in runs]
    assert [suite.failures for suite in suites] == [
        sum(not p.ok for p in run.report.properties) for run in runs
    ]
    failed = [case for suite in suites for case in suite if not case.is_passed]
    assert [case.name for case in failed] == ["reference"]


def test_json_holds_every_row_with_the_claim_and_options_in_plain_types(
    runs: list[GateRun],
) -> None:
    loaded = json.loads(results_json(runs))
    assert loaded == results(runs) and loaded["ok"] is False
    for entry, run in zip(loaded["targets"], runs, strict=True):
        report = run.report
        assert {key: entry[key] for key in ("target", "method", "architecture", "dtype")} == {
            "target": report.target,
            "method": report.method,
            "architecture": report.architecture,
            "dtype": report.dtype,
        }
        assert entry["arithmetic"] == "ieee" and entry["seed"] is None
        for row, prop in zip(entry["properties"], report.properties, strict=True):
            assert (row["name"], row["cases"], row["unbounded"], row["compared"]) == (
                prop.name,
                prop.examples,
                prop.vacuous,
                prop.compared,
            )
            assert row["verdict"] == ("pass" if prop.ok else "fail")
    assert loaded["targets"][2]["architecture"] == "cnn"


def test_json_gives_a_failure_its_text_sizes_and_replay_command(runs: list[GateRun]) -> None:
    (row,) = [row for row in results(runs)["targets"][1]["properties"] if row["verdict"] == "fail"]
    assert row["failure"].startswith("target == lrp-invariants' gradient")
    assert row["failure_kind"] == "InvariantViolation" and row["minimised"] is True
    assert "minimal counterexample" in row["details"]
    assert set(row["counterexample_size"]) == {"x_tolerance", "x_value"}
    assert row["replay"] == "lrp-invariants replay reference.npz"


def test_json_writes_an_infinite_error_ratio_as_a_string_float_reads() -> None:
    prop = PropertyReport("reference", "it agrees", examples=3, worst_ratio=np.inf)
    text = results_json([GateRun(GateReport("t.py:f", "gradient", None, [prop]))])
    (row,) = json.loads(text)["targets"][0]["properties"]
    assert row["worst_ratio"] == "inf" and float(row["worst_ratio"]) == np.inf


def test_an_annotation_points_at_the_target_s_source_line(
    runs: list[GateRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    (command,) = github_annotations(runs)
    (prop,) = [p for p in runs[1].report.properties if not p.ok]
    first = str(prop.failure).splitlines()[0]
    assert command == (
        f"::error file=tests/test_export.py,line={FIRST_LINE},"
        f"title=lrp-invariants reference::{first}"
    )


def test_an_annotation_escapes_what_github_reads_as_syntax() -> None:
    prop = PropertyReport("reference", "it agrees", failure="100% off\r\nsecond line")
    report = GateReport("t.py:f", "gradient", None, [prop])
    (command,) = github_annotations([GateRun(report)])
    assert command == "::error title=lrp-invariants reference::100%25 off"


def test_an_annotation_without_a_source_file_names_no_file() -> None:
    assert source_location(len) is None and source_location(None) is None
    prop = PropertyReport("reference", "it agrees", failure="wrong")
    (command,) = github_annotations(
        [GateRun(GateReport("x:f", "gradient", None, [prop]), None, len)]
    )
    assert command == "::error title=lrp-invariants reference::wrong"


def test_github_actions_is_told_by_its_environment_variable() -> None:
    assert under_github_actions({"GITHUB_ACTIONS": "true"})
    assert not under_github_actions({}) and not under_github_actions({"GITHUB_ACTIONS": "false"})


TARGET_FILE = """
from lrp_invariants import targets


def doubled(weights, biases, x, classes):
    return 2 * targets.gradient(weights, biases, x, classes)
"""


def _check(tmp_path: Path, *extra: str) -> int:
    (tmp_path / "doubled.py").write_text(TARGET_FILE)
    return main(
        [
            "check",
            f"{tmp_path / 'doubled.py'}:doubled",
            "--method",
            "gradient",
            "--property",
            "reference",
            "--examples",
            "10",
            "--report",
            str(tmp_path / "cases"),
            *extra,
        ]
    )


def test_check_writes_junit_xml_and_json_and_annotates_under_github_actions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.chdir(tmp_path)
    status = _check(tmp_path, "--junit-xml", "out/results.xml", "--json", "out/results.json")
    assert status == 1
    out = capsys.readouterr().out
    assert "::error file=doubled.py,line=5,title=lrp-invariants reference::target ==" in out
    (case,) = ET.parse(tmp_path / "out" / "results.xml").getroot().iter("testcase")
    failure = case.find("failure")
    assert failure is not None and "lrp-invariants replay" in (failure.text or "")
    (row,) = json.loads((tmp_path / "out" / "results.json").read_text())["targets"][0]["properties"]
    assert Path(row["counterexample"]) == tmp_path / "cases" / "reference.npz"
    assert (
        row["replay"]
        == f"lrp-invariants replay {row['counterexample']} {tmp_path}/doubled.py:doubled"
    )


def test_check_prints_no_annotation_outside_github_actions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    assert _check(tmp_path, "--no-shrink") == 1
    assert "::error" not in capsys.readouterr().out


def test_check_refuses_a_folder_as_a_results_file_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["check", "nowhere:fn", "--method", "gradient", "--json", str(tmp_path)])
    assert exit_.value.code == 2
    assert "--json" in capsys.readouterr().err


def test_the_pre_commit_hook_runs_the_gate_on_the_project_configuration() -> None:
    import yaml  # type: ignore[import-untyped]  # the [test] extra installs it

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "lrp-invariants" and hook["entry"] == "lrp-invariants check"
    assert hook["language"] == "python" and hook["pass_filenames"] is False
