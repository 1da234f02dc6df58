"""Where LRP's relevance starts is part of the claim: at the chosen logit (the default), at
one (a one-hot of the class, Zennit's documented usage) or at the class's softmax probability.
A target started elsewhere keeps every claim once declared and fails the neighbouring
declaration; the report names the start where it is the whole difference, and not on a real
defect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrp_invariants import AlphaBeta, Epsilon, Gamma, Network, explain, forward, targets
from lrp_invariants.bounds import Ball, Precision, enclose_forward, enclose_relevance
from lrp_invariants.cli import main
from lrp_invariants.cnn import explain as cnn_explain
from lrp_invariants.cnn.bounds import enclose_cnn_relevance
from lrp_invariants.cnn_cases import cnn_reference
from lrp_invariants.gate import run_gate
from lrp_invariants.gate.counterexamples import load_counterexample
from lrp_invariants.methods import resolve_method
from lrp_invariants.strategies import cnn_seed_cases, seed_cases, with_starting_relevance

RULES = [Epsilon(1e-9), AlphaBeta(2.0, 1.0), Gamma(0.25)]


def lrp_epsilon_from_one(weights: Any, biases: Any, x: Any, classes: Any) -> Any:
    """LRP-ε from a one-hot of the class, as Zennit's ``attributor(x, one_hot)`` starts it."""
    network = Network.from_arrays(weights, biases)
    return explain(network, x, classes, Epsilon(targets.EPSILON), start="one")[1].input


def lrp_epsilon_from_probability(weights: Any, biases: Any, x: Any, classes: Any) -> Any:
    """LRP-ε from the softmax probability of the class, computed as torch computes it."""
    network = Network.from_arrays(weights, biases)
    logits = forward(network, np.asarray(x, dtype=network.dtype)).logits
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    probability = (e / e.sum(axis=1, keepdims=True))[np.arange(len(classes)), classes]
    relevance = explain(network, x, classes, Epsilon(targets.EPSILON), start="one")[1].input
    return relevance * probability[:, None]  # LRP is linear in where it starts


def lrp_epsilon_from_given(weights: Any, biases: Any, x: Any, classes: Any, relevance: Any) -> Any:
    """LRP-ε from the relevance the caller passes, at every output."""
    network = Network.from_arrays(weights, biases)
    return explain(network, x, classes, Epsilon(targets.EPSILON), start=relevance)[1].input


def lrp_epsilon_ignoring_the_given(
    weights: Any, biases: Any, x: Any, classes: Any, relevance: Any
) -> Any:
    return targets.lrp_epsilon(weights, biases, x, classes)


def off_by_a_millionth(weights: Any, biases: Any, x: Any, classes: Any) -> Any:
    return targets.lrp_epsilon(weights, biases, x, classes) * (1 + 1e-6)


def normalised_heatmap(weights: Any, biases: Any, x: Any, classes: Any) -> Any:
    """LRP-0 divided by its own sum per sample: LRP from one on a 1-1-1 network, not beyond."""
    relevance = targets.lrp_0(weights, biases, x, classes)
    total = relevance.sum(axis=1, keepdims=True)
    return relevance / np.where(total == 0, 1.0, total)


@given(seed_cases())
def test_relevance_from_one_lies_in_its_enclosure(case: Any) -> None:
    p = Precision.of(case.net1.dtype)
    forward = enclose_forward(case.net1, Ball.exact(case.x1), p=p)
    for rule in RULES:
        relevance = explain(case.net1, case.x1, case.classes, rule, start="one")[1].input
        ball = enclose_relevance(case.net1, forward, case.classes, rule, p, start="one")[0].R
        assert np.all(np.abs(relevance - ball.mid) <= ball.rad)


@given(seed_cases())
def test_relevance_from_the_probability_lies_in_its_enclosure(case: Any) -> None:
    p = Precision.of(case.net1.dtype)
    forward = enclose_forward(case.net1, Ball.exact(case.x1), p=p)
    for rule in RULES:
        relevance = explain(case.net1, case.x1, case.classes, rule, start="probability")[1]
        ball = enclose_relevance(case.net1, forward, case.classes, rule, p, "probability")
        assert np.all(np.abs(relevance.input - ball[0].R.mid) <= ball[0].R.rad)
        top = relevance.layers[-1].R_out
        assert np.all((top >= 0) & (top <= 1))


@given(
    st.lists(st.floats(-800, 800), min_size=1, max_size=6),
    st.sampled_from([np.float32, np.float64]),
    st.data(),
)
def test_the_probability_ball_holds_the_exact_softmax_and_a_stable_evaluation(
    logits: list[float], dtype: type[np.floating[Any]], data: st.DataObject
) -> None:
    from decimal import Decimal, localcontext

    from lrp_invariants.bounds.starts import probability_ball

    z = np.array([logits])
    c = data.draw(st.integers(0, len(logits) - 1))
    ball = probability_ball(Ball.exact(z), [c], Precision.of(dtype))
    lo, hi = ball.mid - ball.rad, ball.mid + ball.rad
    with localcontext() as context:  # 60 digits: the exact value to far below float64's ulp
        context.prec = 60
        total = sum((Decimal(v) - Decimal(logits[c])).exp() for v in logits)
        exact = float(1 / total)
    assert lo[0] <= exact <= hi[0]
    zd = z.astype(dtype)
    with np.errstate(under="ignore", over="ignore"):
        e = np.exp(zd - zd.max())
    ours = float((e / e.sum())[0, c])
    assert lo[0] <= ours <= hi[0]


def test_a_probability_in_the_subnormal_range_stays_in_its_ball() -> None:
    """exp(-727.3) = 1.4e-316: the sum of exps at the far corner overflows, log-sum-exp not
    (a reviewer's case; the ball once said [0, 2e-323])."""
    from lrp_invariants.bounds.starts import probability_ball

    ball = probability_ball(Ball.exact(np.array([[0.0, -727.3]])), [1], Precision.of(np.float64))
    assert abs(np.exp(-727.3) - ball.mid[0]) <= ball.rad[0]


@given(cnn_seed_cases())
def test_cnn_relevance_from_one_or_the_probability_lies_in_its_enclosure(case: Any) -> None:
    from lrp_invariants.cnn_cases import CNNGateCase

    gate_case = CNNGateCase.of(case)
    for start in ("one", "probability"):
        relevance = cnn_explain(case.net1, case.x1, case.classes, Epsilon(1e-9), start=start)[1]
        ball = enclose_cnn_relevance(
            case.net1, gate_case.balls1, case.classes, Epsilon(1e-9), gate_case.precision, start
        )[0].R
        assert np.all(np.abs(relevance.input - ball.mid) <= ball.rad)


@given(with_starting_relevance(seed_cases()))
def test_relevance_from_a_given_start_lies_in_its_enclosure(case: Any) -> None:
    p = Precision.of(case.net1.dtype)
    forward = enclose_forward(case.net1, Ball.exact(case.x1), p=p)
    for rule in RULES:
        relevance = explain(case.net1, case.x1, case.classes, rule, start=case.relevance)[1]
        ball = enclose_relevance(case.net1, forward, case.classes, rule, p, case.relevance)
        assert np.all(np.abs(relevance.input - ball[0].R.mid) <= ball[0].R.rad)
        assert np.array_equal(relevance.layers[-1].R_out, case.relevance)


@pytest.mark.parametrize(
    ("start", "error"),
    [
        (np.zeros((1, 3)), "the logits' shape"),
        (np.zeros((1, 2), dtype=np.float32), "dtype float32"),
        (np.array([[np.nan, 0.0]]), "NaN or inf"),
        ("given", "needs the relevance itself"),
    ],
)
def test_a_bad_given_start_is_refused_naming_the_problem(start: Any, error: str) -> None:
    network = Network.from_arrays([[[1.0, -1.0]]], [[0.0, 0.0]])
    with pytest.raises((ValueError, TypeError), match=error):
        explain(network, np.array([[1.0]]), np.array([0]), Epsilon(0.0), start=start)


def test_a_target_started_at_a_given_relevance_keeps_every_claim_once_declared() -> None:
    report = run_gate(lrp_epsilon_from_given, "lrp-epsilon start=given")
    assert report.ok, report.render()


def test_a_target_that_ignores_the_given_relevance_fails_the_claim() -> None:
    report = run_gate(lrp_epsilon_ignoring_the_given, "lrp-epsilon start=given", shrink=False)
    assert not report.ok


def test_a_given_start_is_refused_on_cnns_before_any_work() -> None:
    with pytest.raises(ValueError, match=r"given relevance.* is not judged on cnn networks"):
        run_gate(lrp_epsilon_from_given, "lrp-epsilon start=given", architecture="cnn")


def test_an_unknown_start_is_refused_naming_the_starts() -> None:
    with pytest.raises(ValueError, match="unknown start 'softmax'; choose one of logit, one"):
        resolve_method("lrp-epsilon start=softmax")


def test_a_start_is_refused_where_relevance_is_a_gradient() -> None:
    with pytest.raises(ValueError, match=r"a start .* is part of an LRP claim"):
        resolve_method("gradient start=one")


def test_the_start_is_part_of_the_spec_and_the_spec_rebuilds_the_method() -> None:
    method = resolve_method("lrp-epsilon:1e-6 start=one")
    assert method.start == "one" and method.spec.endswith(" start=one")
    assert resolve_method(method.spec).spec == method.spec
    assert method.with_start("logit").spec == resolve_method("lrp-epsilon:1e-6").spec


def test_a_target_started_at_one_keeps_every_claim_once_declared() -> None:
    report = run_gate(lrp_epsilon_from_one, "lrp-epsilon start=one")
    assert report.ok, report.render()


def test_a_target_started_at_the_logit_fails_a_claim_started_at_one() -> None:
    report = run_gate(targets.lrp_epsilon, "lrp-epsilon start=one", shrink=False)
    assert not report.ok


def test_a_cnn_target_started_at_one_keeps_every_claim_once_declared() -> None:
    target = cnn_reference("lrp-epsilon start=one")
    report = run_gate(target, "lrp-epsilon start=one", architecture="cnn")
    assert report.ok, report.render()


def test_the_report_names_the_start_where_it_is_the_whole_difference() -> None:
    report = run_gate(lrp_epsilon_from_one, "lrp-epsilon", shrink_budget=0.0)
    assert not report.ok
    assert all("one" in p.holding_starts for p in report.properties if not p.ok)
    assert "declare it with --start one" in report.render()


def test_a_target_started_at_the_probability_keeps_every_claim_once_declared() -> None:
    report = run_gate(lrp_epsilon_from_probability, "lrp-epsilon start=probability")
    assert report.ok, report.render()


def test_the_report_names_the_probability_where_it_is_the_whole_difference() -> None:
    report = run_gate(lrp_epsilon_from_probability, "lrp-epsilon", shrink_budget=0.0)
    assert not report.ok
    assert all("probability" in p.holding_starts for p in report.properties if not p.ok)
    assert "declare it with --start probability (start=probability" in report.render()


@pytest.mark.parametrize(
    ("target", "method"),
    [
        (off_by_a_millionth, "lrp-epsilon"),
        (targets.lrp_0, "lrp-epsilon"),
        (normalised_heatmap, "lrp-0"),
    ],
)
def test_the_report_names_no_start_on_a_real_defect(target: Any, method: str) -> None:
    """A normalised heatmap holds from one on its minimal case: the start must also explain
    the case as first found, the largest error and fresh cases."""
    report = run_gate(target, method, properties=["reference"], shrink_budget=0.0)
    assert not report.ok and "--start" not in report.render()


def test_under_flush_to_zero_the_report_names_the_start_too() -> None:
    report = run_gate(lrp_epsilon_from_one, "lrp-epsilon", arithmetic="ftz", shrink_budget=0.0)
    assert not report.ok and "declare it with --start one" in report.render()


def test_the_json_results_carry_the_start_that_explains_a_failure() -> None:
    from lrp_invariants.gate.export import property_row

    report = run_gate(lrp_epsilon_from_one, "lrp-epsilon", properties=["reference"])
    row = property_row(report, report.properties[0], None)
    assert row["holding_starts"] == ["one"] and "--start one" in row["details"]


@pytest.mark.parametrize(
    "spec", ["lrp-epsilon start=one start=logit", "integrated-gradients start=one"]
)
def test_two_starts_or_a_start_outside_lrp_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match=r"one start, not|part of an LRP claim"):
        resolve_method(spec)


def test_a_rule_built_from_options_keeps_the_start_of_its_spec() -> None:
    from lrp_invariants.methods import method_from_options

    method = method_from_options("lrp-zbox start=one", {"low": [0.0], "high": [1.0]})
    assert method is not None and method.start == "one"


def test_the_cli_takes_the_start_and_a_saved_case_keeps_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "zennit_style.py"
    module.write_text("from tests.test_starts import lrp_epsilon_from_one as lrp  # noqa: F401\n")
    target = f"{module}:lrp"
    assert main(["check", target, "--method", "lrp-epsilon", "--start", "one"]) == 0
    failing = ["check", target, "--method", "lrp-epsilon", "--property", "reference"]
    assert main([*failing, "--no-shrink", "--report", str(tmp_path)]) == 1
    saved = load_counterexample(tmp_path / "reference.npz")
    assert saved.method == "lrp-epsilon"
    assert "declare it with --start one" in capsys.readouterr().out


def test_a_saved_case_keeps_its_given_relevance_and_replays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "given_style.py"
    module.write_text(
        "from tests.test_starts import lrp_epsilon_ignoring_the_given as lrp  # noqa: F401\n"
    )
    target = f"{module}:lrp"
    failing = ["check", target, "--method", "lrp-epsilon", "--start", "given"]
    assert main([*failing, "--property", "reference", "--report", str(tmp_path)]) == 1
    saved = load_counterexample(tmp_path / "reference.npz")
    assert saved.case.relevance is not None
    assert saved.case.relevance.shape == (saved.case.x1.shape[0], saved.case.net1.n_outputs)
    assert "starting relevance=" in capsys.readouterr().out
    assert main(["replay", str(tmp_path / "reference.npz"), target]) == 1
