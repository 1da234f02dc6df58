"""``[tool.lrp-invariants]`` in a project's pyproject.toml: ``lrp-invariants check`` without a
target gates every target listed there, one summary line each, exit 0 / 1, and 2 for a bad
configuration naming the key and the target's index; the command line overrides the file."""

from __future__ import annotations

import contextlib
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from lrp_invariants.cli import CONFIG_KEYS, _check_parser, main

SAMPLE = """
[project]
name = "sample"

[tool.lrp-invariants]
examples = 10

[[tool.lrp-invariants.targets]]
target = "lrp_invariants.targets:lrp_epsilon"
method = "lrp-epsilon"
property = ["reference", "batch-consistency"]

[[tool.lrp-invariants.targets]]
target = "lrp_invariants.targets:gradient"
method = "gradient"
examples = 5

[[tool.lrp-invariants.targets]]
target = "src/explain/cnn.py:lrp_0"
method = "lrp-0"
architecture = "cnn"
"""

CNN_MODULE = """
from lrp_invariants.cnn_cases import cnn_reference

lrp_0 = cnn_reference("lrp-0")
"""

DOUBLED = """
from lrp_invariants import targets


def doubled(weights, biases, x, classes):
    return 2 * targets.gradient(weights, biases, x, classes)
"""

TARGETS = [
    ("lrp_invariants.targets:lrp_epsilon", "lrp-epsilon", "mlp"),
    ("lrp_invariants.targets:gradient", "gradient", "mlp"),
    ("src/explain/cnn.py:lrp_0", "lrp-0", "cnn"),
]


def _project(folder: Path, pyproject: str = SAMPLE) -> Path:
    (folder / "src" / "explain").mkdir(parents=True, exist_ok=True)
    (folder / "src" / "explain" / "cnn.py").write_text(CNN_MODULE)
    (folder / "src" / "explain" / "doubled.py").write_text(DOUBLED)
    (folder / "pyproject.toml").write_text(pyproject)
    return folder


def _run(folder: Path, *words: str) -> tuple[int, str, str]:
    """``lrp-invariants check WORDS`` in ``folder``: its status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv("GITHUB_ACTIONS", raising=False)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(["check", *words])
            except SystemExit as exit_:
                status = int(exit_.code or 0)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    """The sample project gated by one command, with JUnit XML and JSON written."""
    folder = _project(tmp_path_factory.mktemp("sample"))
    status, out, _ = _run(folder, "--junit-xml", "out/results.xml", "--json", "out/results.json")
    return status, out, folder


def _json(folder: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((folder / "out" / "results.json").read_text())
    return loaded


def test_check_without_a_target_gates_every_configured_target(
    gated: tuple[int, str, Path],
) -> None:
    status, out, _ = gated
    assert status == 0
    summary = out[out.index("lrp-invariants: 3 targets from") :].splitlines()[1:]
    assert [line.split()[:4] for line in summary] == [
        ["PASS", spec, "claims", f"{method}:"] for spec, method, _ in TARGETS
    ]


def test_junit_xml_holds_a_testsuite_per_configured_target(gated: tuple[int, str, Path]) -> None:
    _, _, folder = gated
    root = ET.parse(folder / "out" / "results.xml").getroot()
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        f"lrp-invariants: {spec} claims {method}" for spec, method, _ in TARGETS
    ]
    assert int(root.get("tests", "0")) == sum(len(s.findall("testcase")) for s in suites)
    assert root.get("failures") == "0" and root.get("errors") == "0"
    assert [c.get("name") for c in suites[0].iter("testcase")] == ["reference", "batch-consistency"]


def test_a_junit_reader_reads_the_configured_run(gated: tuple[int, str, Path]) -> None:
    import junitparser  # the [test] extra installs it

    _, _, folder = gated
    suites = list(junitparser.JUnitXml.fromfile(str(folder / "out" / "results.xml")))
    assert [suite.name for suite in suites] == [
        f"lrp-invariants: {spec} claims {method}" for spec, method, _ in TARGETS
    ]
    assert all(case.is_passed for suite in suites for case in suite)


def test_json_holds_each_configured_target_with_its_own_options(
    gated: tuple[int, str, Path],
) -> None:
    _, _, folder = gated
    loaded = _json(folder)
    assert loaded["ok"] is True
    assert [(t["target"], t["method"], t["architecture"]) for t in loaded["targets"]] == TARGETS
    cases = [{row["cases"] for row in t["properties"]} for t in loaded["targets"]]
    assert cases == [{10}, {5}, {10}]  # the section's examples, and the target's own over it


def test_command_line_flags_override_the_configuration(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    status, _, _ = _run(folder, "--examples", "3", "--property", "determinism", "--json", "r.json")
    assert status == 0
    loaded = json.loads((folder / "r.json").read_text())
    rows = [[(row["name"], row["cases"]) for row in t["properties"]] for t in loaded["targets"]]
    assert rows == [[("determinism", 3)]] * 3


def test_a_failing_configured_target_exits_1_and_its_summary_names_the_property(
    tmp_path: Path,
) -> None:
    pyproject = """
[tool.lrp-invariants]
examples = 10
property = ["reference"]

[[tool.lrp-invariants.targets]]
target = "lrp_invariants.targets:gradient"
method = "gradient"

[[tool.lrp-invariants.targets]]
target = "src/explain/doubled.py:doubled"
method = "gradient"
"""
    folder = _project(tmp_path, pyproject)
    status, out, _ = _run(folder, "--no-shrink", "--report", "cases")
    assert status == 1
    assert (
        "FAIL  src/explain/doubled.py:doubled claims gradient: 1 of 1 properties failed: "
        "reference" in out
    )
    assert "PASS  lrp_invariants.targets:gradient claims gradient" in out
    (saved,) = (folder / "cases").rglob("reference.npz")  # a folder per target under --report
    assert saved.parent.parent == folder / "cases"


def test_relative_paths_are_read_from_the_configuration_s_folder(tmp_path: Path) -> None:
    pyproject = """
[[tool.lrp-invariants.targets]]
target = "src/explain/cnn.py:lrp_0"
method = "lrp-0"
architecture = "cnn"
examples = 3
property = ["determinism"]
"""
    folder = _project(tmp_path, pyproject)
    (folder / "deeper").mkdir()
    status, out, _ = _run(folder / "deeper")
    assert status == 0
    assert "PASS  ../src/explain/cnn.py:lrp_0 claims lrp-0" in out


BAD = {
    "an unknown key": (
        "[[tool.lrp-invariants.targets]]\ntarget = 'm:f'\nmethod = 'gradient'\nexmaples = 10",
        "targets[0]: unknown key 'exmaples'; did you mean 'examples'?",
    ),
    "a value of the wrong kind": (
        "[[tool.lrp-invariants.targets]]\ntarget = 'm:f'\nmethod = 'gradient'\nguided = 'yes'",
        'targets[0]: guided = "yes": write true or false',
    ),
    "a value its flag refuses": (
        "[[tool.lrp-invariants.targets]]\ntarget = 'lrp_invariants.targets:gradient'\n"
        "method = 'gradient'\n[[tool.lrp-invariants.targets]]\n"
        "target = 'lrp_invariants.targets:gradient'\nmethod = 'gradient'\ndtype = 'float16'",
        "targets[1] (lrp_invariants.targets:gradient): dtype: invalid choice: 'float16'",
    ),
    "an unknown method": (
        "[[tool.lrp-invariants.targets]]\ntarget = 'lrp_invariants.targets:gradient'\n"
        "method = 'gradiant'",
        "targets[0] (lrp_invariants.targets:gradient): unknown method 'gradiant'",
    ),
    "a method its networks are not judged on": (
        "[[tool.lrp-invariants.targets]]\ntarget = 'lrp_invariants.targets:gradient'\n"
        "method = 'integrated-gradients'\narchitecture = 'cnn'",
        "targets[0] (lrp_invariants.targets:gradient): integrated-gradients is not judged on cnn",
    ),
    "a target that does not import": (
        "[[tool.lrp-invariants.targets]]\ntarget = 'no_such_module:f'\nmethod = 'gradient'",
        "targets[0] (no_such_module:f): cannot import no_such_module",
    ),
    "a table without a target": (
        "[[tool.lrp-invariants.targets]]\nmethod = 'gradient'",
        "targets[0]: no target",
    ),
    "a section without targets": ("[tool.lrp-invariants]\nexamples = 10", "no targets"),
    "a file that is not TOML": ("[tool.lrp-invariants\n", "is not valid TOML"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_configuration_exits_2_naming_the_key_and_the_target(
    name: str, tmp_path: Path
) -> None:
    text, message = BAD[name]
    (tmp_path / "pyproject.toml").write_text(text + "\n")
    status, out, err = _run(tmp_path, "--json", "r.json")
    assert status == 2 and message in err
    assert out == "" and not (tmp_path / "r.json").exists()  # refused before any target ran


def test_no_target_and_no_configuration_exits_2_saying_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'other'\n")
    status, _, err = _run(tmp_path)
    assert status == 2 and "no target given" in err and "[tool.lrp-invariants]" in err


def test_every_configuration_key_is_a_flag_of_check() -> None:
    flags = _check_parser().format_help()
    assert all(f"--{key}" in flags for key in CONFIG_KEYS)
    assert "junit-xml" not in CONFIG_KEYS and "json" not in CONFIG_KEYS  # outputs, not claims


def test_pytest_gates_every_configured_target_one_test_per_property(
    pytester: pytest.Pytester,
) -> None:
    _project(pytester.path)
    result = pytester.runpytest("--lrp-configured", "--lrp-property=determinism", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [f"*lrp-gate?{spec}:determinism? PASSED*" for spec, _, _ in TARGETS]
    )


def test_pytest_fails_a_configured_target_with_its_report(pytester: pytest.Pytester) -> None:
    _project(
        pytester.path,
        "[[tool.lrp-invariants.targets]]\ntarget = 'src/explain/doubled.py:doubled'\n"
        "method = 'gradient'\nexamples = 10\nproperty = ['reference']\n",
    )
    result = pytester.runpytest("--lrp-configured", "--lrp-no-shrink")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAILED reference*", "*counterexample as first found*"])


def test_pytest_refuses_a_bad_configuration_naming_the_key(pytester: pytest.Pytester) -> None:
    (pytester.path / "pyproject.toml").write_text(BAD["an unknown key"][0] + "\n")
    result = pytester.runpytest("--lrp-configured")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*targets[[]0[]]: unknown key 'exmaples'*"])
