"""``lrp-invariants check | replay | methods``: exit 0 when the claims hold, 1 when they fail or
the target misbehaves, 2 when it cannot be loaded or the arguments are wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lrp_invariants.cli import main
from lrp_invariants.gate.counterexamples import load_counterexample

from .example_counts import scaled

BROKEN = """
import numpy as np
from lrp_invariants import LRP0, Network, explain

def absolute(weights, biases, x, classes):
    return np.abs(explain(Network.from_arrays(weights, biases), x, classes, LRP0())[1].input)

def doubled(weights, biases, x, classes):
    return 2 * explain(Network.from_arrays(weights, biases), x, classes, LRP0())[1].input

def sleepy(weights, biases, x, classes):
    import time
    time.sleep(30)
    return x
"""


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken_lrp.py"
    path.write_text(BROKEN)
    return path


def test_check_of_a_builtin_target_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [
            "check",
            "lrp_invariants.targets:lrp_epsilon",
            "--method",
            "lrp-epsilon",
            "--examples",
            "10",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "PASS  shift-decomposition" in out and "all claimed properties hold" in out


def test_check_of_a_broken_file_target_exits_1_with_a_replayable_report(
    broken: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report"
    status = main(
        [
            "check",
            f"{broken}:absolute",
            "--method",
            "lrp-0",
            "--property",
            "bias-proxy-conservation",
            "--report",
            str(report),
        ]
    )
    out = capsys.readouterr().out
    assert status == 1
    assert "FAILED bias-proxy-conservation" in out and "minimal counterexample" in out
    assert f"replay with: lrp-invariants replay {report}" in out
    assert sorted(p.name for p in report.iterdir()) == [
        "bias-proxy-conservation.npz",
        "bias-proxy-conservation.png",
        "bias-proxy-conservation.txt",
    ]
    with np.load(report / "bias-proxy-conservation.npz", allow_pickle=False) as data:
        assert str(data["method"]) == "lrp-0"


def _check_reference_unshrunk(broken: Path, *options: str) -> int:
    """``check`` the broken target's ``reference`` property without shrinking."""
    command = ["check", f"{broken}:absolute", "--method", "lrp-0", "--property", "reference"]
    return main([*command, "--no-shrink", *options])


@pytest.fixture
def saved(broken: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A failing case of the broken target, saved by ``check --report`` (not minimised)."""
    _check_reference_unshrunk(broken, "--report", str(tmp_path))
    capsys.readouterr()
    return tmp_path / "reference.npz"


def test_replay_of_a_saved_case_fails_again_for_the_broken_target(
    saved: Path, broken: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert load_counterexample(saved).property == "reference"
    assert main(["replay", str(saved), f"{broken}:absolute"]) == 1
    assert "FAIL target == lrp-invariants' lrp-0" in capsys.readouterr().out


def test_replay_of_a_saved_case_passes_for_the_reference(saved: Path) -> None:
    assert main(["replay", str(saved), "lrp_invariants.targets:lrp_0"]) == 0


def test_a_target_that_cannot_be_imported_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["check", "no_such_package.module:fn", "--method", "lrp-0"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "lrp-invariants: error: cannot import no_such_package.module: "
        "ModuleNotFoundError: No module named 'no_such_package'"
    )


PACKAGED = {
    "__init__.py": "",
    "shared.py": "SCALE = 2.0\n",
    "doubled_target.py": (
        "from lrp_invariants import LRP0, Network, explain\n"
        "from .shared import SCALE\n\n"
        "def doubled(weights, biases, x, classes):\n"
        "    net = Network.from_arrays(weights, biases)\n"
        "    return SCALE * explain(net, x, classes, LRP0())[1].input\n"
    ),
}


def test_a_target_file_inside_a_package_may_import_its_siblings_relatively(
    tmp_path: Path,
) -> None:
    """As under pytest: ``pkg/doubled_target.py`` is imported as ``pkg.doubled_target``."""
    package = tmp_path / "lrpinv_packaged_target"
    package.mkdir()
    for name, text in PACKAGED.items():
        (package / name).write_text(text)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lrp_invariants",
            "check",
            f"{package / 'doubled_target.py'}:doubled",
            "--method",
            "lrp-0",
            "--examples",
            "20",
            "--no-shrink",  # the claim is that it loads and fails: no minimal case needed
            "--first-failure",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path.parent,
    )
    assert result.returncode == 1, result.stderr
    assert "FAIL" in result.stdout


def test_the_repository_mutants_load_by_path_from_the_command_line(tmp_path: Path) -> None:
    """The Redis campaign names ``tests/mutants.py:...``; it imports ``.helpers`` relatively."""
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lrp_invariants",
            "check",
            "tests/mutants.py:lrp0_drops_negative_inputs",
            "--method",
            "lrp-0",
            "--examples",
            "30",
            "--no-shrink",  # the claim is that it loads and fails: no minimal case needed
            "--first-failure",
            "--report",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
    )
    assert result.returncode == 1, result.stderr
    assert "cannot import" not in result.stderr


def test_a_missing_function_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["check", "lrp_invariants.targets:lrp_9", "--method", "lrp-0"])
    assert exit_.value.code == 2
    assert "has no attribute 'lrp_9'" in capsys.readouterr().err


def test_a_target_without_a_colon_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["check", "lrp_invariants.targets", "--method", "lrp-0"])
    assert exit_.value.code == 2
    assert "must look like package.module:function" in capsys.readouterr().err


def test_an_unknown_method_exits_2() -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["check", "lrp_invariants.targets:lrp_0", "--method", "lrp-7"])
    assert exit_.value.code == 2


def test_methods_prints_which_property_holds_for_which_method(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["methods"]) == 0
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in capsys.readouterr().out.splitlines()
    ]
    assert rows[0] == [
        "property",
        "gradient",
        "saliency",
        "gradient-x-input",
        "lrp-0",
        "lrp-epsilon",
        "lrp-alpha-beta",
        "lrp-zplus",
        "lrp-gamma",
        "lrp-w-square",
        "lrp-flat",
        "integrated-gradients",
        "deeplift-rescale",
        "pattern-net",
        "pattern-attribution",
        "integrated-gradients:baseline=given",
        "deeplift-rescale:baseline=given",
    ]
    assert rows[2] == [  # the signal methods are invariant: patterns learned on shifted data
        "input-invariance: relevance(net2, x1 + m) == relevance(net1, x1)",
        *["yes", "yes"] + ["-"] * 10 + ["yes", "yes", "-", "-"],
    ]
    assert rows[3] == [
        "shift-decomposition: rx1 == rx3 + rm3",
        *["-", "-", "yes", "yes", "yes", "-", "-", "-", "yes", "yes"] + ["-"] * 6,
    ]
    assert rows[9][0].startswith("determinism:") and rows[9][1:] == ["yes"] * 16
    # a baseline that moves with the input is what makes IG and DeepLIFT input-invariant
    assert rows[-1][0].startswith("baseline-invariance:")
    assert rows[-1][1:] == ["-"] * 14 + ["yes", "yes"]


def test_the_readme_shows_the_table_that_methods_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["methods"]) == 0
    table = capsys.readouterr().out.strip()
    assert table in (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_command_line_stops_a_hanging_target(broken: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lrp_invariants",
            "check",
            f"{broken}:sleepy",
            "--method",
            "lrp-0",
            "--time-limit",
            "0.5",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "first call did not return within 3 s" in result.stdout


def _rewrite(saved: Path, out: Path, drop: tuple[str, ...] = (), **changes: object) -> Path:
    """A copy of a saved case without some arrays and with others replaced."""
    with np.load(saved, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files if name not in drop}
    arrays.update({name: np.asarray(value) for name, value in changes.items()})
    np.savez(out, **arrays)  # type: ignore[arg-type]
    return out


def _replay_exits_2(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(["replay", str(path), "lrp_invariants.targets:lrp_0"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("lrp-invariants: error: ") and err.count("\n") == 1, err
    return err


def test_replay_of_a_damaged_file_exits_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(b"PK\x03\x04 this is no zip archive")
    assert "damaged" in _replay_exits_2(damaged, capsys)


def test_replay_of_a_missing_file_exits_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "cannot read" in _replay_exits_2(tmp_path / "nowhere.npz", capsys)


def test_replay_of_a_truncated_file_exits_2_naming_the_missing_array(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truncated = _rewrite(saved, tmp_path / "truncated.npz", drop=("x1",))
    assert "is truncated: x1" in _replay_exits_2(truncated, capsys)


def test_replay_of_a_foreign_npz_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.ones(3))
    assert "not a counterexample" in _replay_exits_2(foreign, capsys)


def test_replay_of_a_file_that_needs_pickle_exits_2(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with np.load(saved, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["x1"] = np.array([object()], dtype=object)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, **arrays)  # type: ignore[arg-type]
    assert "damaged or not a counterexample" in _replay_exits_2(pickled, capsys)


def test_replay_of_a_case_with_fewer_choices_than_its_property_draws_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # permutation draws a layer and an order on this 1-2-1 network; the file records none
    short = tmp_path / "short.npz"
    np.savez(
        short,
        format=np.array(1),
        property=np.array("permutation"),
        method=np.array("lrp-0"),
        x1=np.ones((1, 1)),
        m=np.zeros(1),
        classes=np.zeros(1, dtype=np.intp),
        depth=np.array(2),
        draws=np.array(0),
        W0=np.ones((1, 2)),
        b0=np.zeros(2),
        W1=np.ones((2, 1)),
        b1=np.zeros(1),
    )
    assert "fewer choices" in _replay_exits_2(short, capsys)


def test_replay_of_a_plain_npy_array_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "array.npz"
    with plain.open("wb") as handle:
        np.save(handle, np.ones(3))
    assert "not a counterexample" in _replay_exits_2(plain, capsys)


def test_every_failure_is_replayable_without_a_report_folder(
    broken: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _check_reference_unshrunk(broken) == 1
    out = capsys.readouterr().out
    (hint,) = [line for line in out.splitlines() if line.startswith("replay with: ")]
    command = hint.removeprefix("replay with: ").split()
    assert command[:2] == ["lrp-invariants", "replay"]
    saved = tmp_path / command[2]
    assert saved.is_file() and saved.is_relative_to(tmp_path / ".lrp-invariants")
    assert main(["replay", str(saved), f"{broken}:absolute"]) == 1  # exactly that case, again


def test_an_unshrunk_case_is_not_called_minimal(
    broken: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    _check_reference_unshrunk(broken)
    out = capsys.readouterr().out
    assert "minimal counterexample" not in out
    assert "counterexample as first found (not minimised: --no-shrink)" in out


GROWING = '''
import numpy as np
from lrp_invariants.targets import lrp_0


def grows(weights, biases, x, classes):
    """LRP-0, off by a relative 1e-9 times the fourth power of the number of input values:
    smallest on the minimal case, at least 16 times larger on any other."""
    return lrp_0(weights, biases, x, classes) * (1 + 1e-9 * x.size**4)
'''


def test_a_failure_shows_the_minimal_case_and_the_largest_error_both_replayable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "growing.py").write_text(GROWING)
    target = f"{tmp_path / 'growing.py'}:grows"
    assert main(["check", target, "--method", "lrp-0", "--property", "reference"]) == 1
    out = capsys.readouterr().out
    minimal = next(line for line in out.splitlines() if line.startswith("minimal counterexample"))
    largest = next(line for line in out.splitlines() if line.startswith("largest error found"))
    ratio = [float(line.split("(error ")[1].split(" x")[0]) for line in (minimal, largest)]
    assert ratio[1] > ratio[0] > 1
    (hint,) = [line for line in out.splitlines() if line.startswith("replay it with: ")]
    worst_file = hint.split()[5]
    assert worst_file.endswith("reference-worst.npz")
    assert main(["replay", worst_file, target]) == 1


def test_the_command_line_draws_wider_networks_and_larger_batches_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A target wrong only from 16 units on passes when the large size tier is switched off and
    fails at the default sizes, and with the small tier widened."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wide.py").write_text(
        "from lrp_invariants.targets import lrp_0\n\n\n"
        "def wrong_when_wide(weights, biases, x, classes):\n"
        "    relevance = lrp_0(weights, biases, x, classes)\n"
        "    return relevance * 2 if max(w.shape[1] for w in weights) >= 16 else relevance\n"
    )
    target = f"{tmp_path / 'wide.py'}:wrong_when_wide"
    check = ["check", target, "--method", "lrp-0", "--property", "reference", "--no-shrink"]
    assert main([*check, "--large-width", "none"]) == 0
    assert main(check) == 1
    assert main([*check, "--large-width", "none", "--max-width", "32", "--max-batch", "8"]) == 1


def test_a_width_beyond_what_the_strategies_draw_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["check", "lrp_invariants.targets:lrp_0", "--method", "lrp-0", "--max-width", "65"])
    assert exit_.value.code == 2
    assert "max_width" in capsys.readouterr().err


CONFIGURED_TARGETS = """
import numpy as np


def _lrp(weights, biases, x, classes, modify, bias_of, epsilon):
    a, inputs, pre = x, [], []
    for i, (W, b) in enumerate(zip(weights, biases)):
        inputs.append(a)
        pre.append(a @ W + b)
        a = np.maximum(pre[-1], 0) if i < len(weights) - 1 else pre[-1]
    R = np.zeros_like(pre[-1])
    rows = np.arange(len(classes))
    R[rows, classes] = pre[-1][rows, classes]
    for i in range(len(weights) - 1, -1, -1):
        W = modify(weights[i])
        den = inputs[i] @ W + bias_of(biases[i])
        den = den + epsilon * np.where(den >= 0, 1.0, -1.0)
        R = inputs[i] * ((R / den) @ W.T)
    return R


def epsilon_0_01(weights, biases, x, classes):
    return _lrp(weights, biases, x, classes, lambda W: W, lambda b: b, 0.01)


def gamma_bias_source(weights, biases, x, classes):  # Captum's GammaRule, without its 1e-9
    gamma = lambda W: W + 0.25 * np.maximum(W, 0)
    return _lrp(weights, biases, x, classes, gamma, lambda b: b, 1e-12)
"""


@pytest.fixture
def configured(tmp_path: Path) -> Path:
    path = tmp_path / "configured_lrp.py"
    path.write_text(CONFIGURED_TARGETS)
    return path


@pytest.mark.parametrize(
    ("function", "passes", "fails"),
    [
        (
            "epsilon_0_01",
            ["--method", "lrp-epsilon", "--epsilon", "0.01"],
            ["--method", "lrp-epsilon"],
        ),
        (
            "gamma_bias_source",
            [
                "--method",
                "lrp-gamma",
                "--gamma",
                "0.25",
                "--epsilon",
                "1e-12",
                "--bias",
                "source",
                "--weights-once",
            ],
            ["--method", "lrp-gamma:0.25,epsilon=1e-12,bias=modified,weights-once"],
        ),
    ],
)
def test_a_configured_target_passes_its_configuration_and_fails_another(
    configured: Path,
    function: str,
    passes: list[str],
    fails: list[str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    target = f"{configured}:{function}"
    common = ["--report", str(tmp_path / "cases")]
    passing = ["--examples", str(scaled(40))]
    assert main(["check", target, *passes, *passing, *common]) == 0, capsys.readouterr().out
    failing = ["--examples", "40", "--no-shrink", "--property", "reference"]
    assert main(["check", target, *fails, *failing, *common]) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--method", "lrp-gama"], "unknown method 'lrp-gama'"),
        (["--method", "lrp-zbox", "--low", "0"], "lrp-zbox needs --high"),
        (["--method", "lrp-alpha-beta", "--alpha", "3", "--beta", "1"], "alpha - beta must be 1"),
        (["--method", "lrp-epsilon", "--epsilon", "-1"], "epsilon must be finite and >= 0"),
        (["--method", "lrp-gamma", "--gamma", "-0.5"], "gamma must be finite and >= 0"),
        (["--method", "lrp-epsilon", "--gamma", "2"], "lrp-epsilon takes --epsilon; got --gamma"),
        (["--first", "flat"], "needs --hidden RULE"),
        (["--hidden", "zbox:low=0"], "needs high"),
        (["--composite", "zennit-nothing"], "a preset"),
        (["--method", "lrp-0", "--hidden", "epsilon"], "not both"),
    ],
)
def test_a_bad_configuration_exits_2_with_one_line_naming_the_fix(
    options: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["check", "lrp_invariants.targets:lrp_0", *options])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_methods_derives_the_properties_of_a_composite(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["methods", "--first", "flat", "--hidden", "epsilon:1e-6"]) == 0
    out = capsys.readouterr().out
    assert "shift-decomposition: yes" in out and "rescaling: no" in out
    assert "bias-proxy-transparency: no" in out  # on the proxy, flat shares with the biases
