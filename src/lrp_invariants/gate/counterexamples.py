"""Counterexample files: save a failing case, draw it, and replay it against a target.

A case is saved as ``<property>.npz`` (plain arrays, loadable with ``allow_pickle=False``), with
``<property>.txt`` (the report) and ``<property>.png`` (the input, the shift and the relevances
that disagree).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..cases import SeedCase
from ..cnn.protocol import load_cnn
from ..cnn_cases import CNNGateCase
from ..defaults import DEFAULT_ARCHITECTURE
from ..invariants import PROPERTIES, Comparison, InvariantViolation, TargetMisbehaved
from ..methods import Target, resolve_method
from ..network import Network
from .draws import MissingChoices, Replayer
from .report import GateReport, PropertyReport, describe_case

FORMAT = 1


def save_counterexample(
    folder: Path, prop: PropertyReport, gate: GateReport, worst: bool = False
) -> Path:
    """Write ``prop``'s case to ``folder`` and return the path of the ``.npz``: the one shown
    (minimal, unless the search did not shrink), or with ``worst`` the one with the largest
    error (``<property>-worst.npz``)."""
    if worst:
        assert prop.worst is not None
        case, draws, name = prop.worst.case, prop.worst.draws, f"{prop.name}-worst"
    else:
        assert prop.case is not None
        case, draws, name = prop.case, prop.draws, prop.name
    folder.mkdir(parents=True, exist_ok=True)
    meta: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "property": np.array(prop.name),
        "method": np.array(gate.method),
        "arithmetic": np.array("ftz" if case.flush else "ieee"),
        "draws": np.array(len(draws)),
    }
    for i, value in enumerate(draws):
        meta[f"draw{i}"] = np.asarray(value)
    path = folder / f"{name}.npz"
    case.save(path, **meta)
    text = [
        f"{gate.target} claims {gate.method}",
        f"{prop.name}: {prop.sentence}",
        str(prop.failure),
        f"case: {describe_case(case)}",
    ]
    path.with_suffix(".txt").write_text("\n".join(text) + "\n")
    return path


def _case(path: Path, data: Any, flush: bool) -> SeedCase | CNNGateCase:
    """The saved case: a CNN's (its layers in a structure, :func:`lrp_invariants.cnn.save_cnn`)
    or a dense network's (``W0, b0, ...``)."""
    if "structure" in data.files:
        cnn, arrays = load_cnn(path)
        return CNNGateCase(cnn, arrays["x1"], arrays["m"], arrays["classes"], flush)
    depth = int(data["depth"])
    network = Network.from_arrays(
        [data[f"W{i}"] for i in range(depth)], [data[f"b{i}"] for i in range(depth)]
    )
    x0 = data["x0"] if "x0" in data.files else None
    fitting = data["data"] if "data" in data.files else None
    relevance = data["relevance"] if "relevance" in data.files else None
    return SeedCase(network, data["x1"], data["m"], data["classes"], flush, x0, fitting, relevance)


@dataclass
class Saved:
    """A counterexample read back from disk."""

    property: str
    method: str
    case: SeedCase | CNNGateCase
    draws: list[object]


class BadCounterexample(ValueError):
    """A counterexample file that cannot be replayed: the message says why."""


def load_counterexample(path: Path) -> Saved:
    """Read a ``.npz`` written by :func:`save_counterexample` (never with pickle).

    A missing, damaged, truncated or foreign file raises :class:`BadCounterexample` naming the
    problem, before anything runs.
    """
    try:
        # our own handle: numpy leaves its file open when the archive is damaged
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            if "format" not in data.files or int(data["format"]) != FORMAT:
                found = int(data["format"]) if "format" in data.files else "none"
                raise BadCounterexample(
                    f"{path} is not a counterexample of format {FORMAT} (format: {found}); "
                    f"save one with lrp-invariants check --report DIR"
                )
            flush = "arithmetic" in data.files and str(data["arithmetic"]) == "ftz"
            case = _case(path, data, flush)
            draws = [data[f"draw{i}"].tolist() for i in range(int(data["draws"]))]
            saved = Saved(str(data["property"]), str(data["method"]), case, draws)
    except BadCounterexample:
        raise
    except KeyError as error:
        raise BadCounterexample(f"{path} is truncated: {error.args[0]}") from None
    except (OSError, EOFError) as error:
        raise BadCounterexample(f"cannot read {path}: {error}") from None
    # a damaged archive, an object array (it would need pickle), a plain .npy, a bad array
    except (ValueError, TypeError, AttributeError, zipfile.BadZipFile) as error:
        raise BadCounterexample(f"{path} is damaged or not a counterexample: {error}") from None
    if saved.property not in PROPERTIES:
        raise BadCounterexample(f"{path} names an unknown property {saved.property!r}")
    try:
        resolve_method(saved.method)
    except ValueError as error:
        raise BadCounterexample(
            f"{path} names an unknown method {saved.method!r}: {error}"
        ) from None
    return saved


@dataclass
class ReplayOutcome:
    ok: bool
    text: str
    comparisons: list[Comparison]


def replay(path: Path, target: Target) -> ReplayOutcome:
    """Run the saved property on the saved case against ``target``."""
    saved = load_counterexample(path)
    prop, method = PROPERTIES[saved.property], resolve_method(saved.method)
    arithmetic = "flush-to-zero" if saved.case.flush else "IEEE gradual underflow"
    header = (
        f"replaying {saved.property} ({method.describe()}, {arithmetic}) on "
        f"{describe_case(saved.case)}"
    )
    try:
        comparisons = prop.check(saved.case, target, method, Replayer(saved.draws))
    except (TargetMisbehaved, InvariantViolation) as error:
        return ReplayOutcome(False, f"{header}\nFAIL {error}", [])
    except MissingChoices as error:
        raise BadCounterexample(f"{path}: {error}") from None
    failed = [c for c in comparisons if not c.holds()]
    lines = [header] + [("FAIL " if not c.holds() else "ok   ") + c.describe() for c in comparisons]
    return ReplayOutcome(not failed, "\n".join(lines), comparisons)


def draw_counterexample(path: Path, target: Target) -> Path:
    """A figure of the saved case: input, shift, and each comparison's two sides (sample 0)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    saved = load_counterexample(path)
    outcome = replay(path, target)
    panels: list[tuple[str, np.ndarray, np.ndarray | None]] = [
        ("x1 (sample 0)", np.ravel(saved.case.x1[0]), None),
        ("m", np.ravel(saved.case.m), None),
    ]
    for comparison in outcome.comparisons:  # sample 0, flattened (a CNN's is (C, H, W))
        actual, expected = _sample_0(comparison.actual), _sample_0(comparison.expected)
        panels.append((comparison.claim, actual, expected))
    figure, axes = plt.subplots(len(panels), 1, figsize=(7, 1.8 * len(panels)), squeeze=False)
    for axis, (title, first, second) in zip(axes[:, 0], panels, strict=True):
        index = np.arange(np.size(first))
        if second is None:
            axis.bar(index, first, color="0.4")
        else:
            axis.bar(index - 0.2, first, width=0.4, label="actual", color="tab:red")
            axis.bar(index + 0.2, second, width=0.4, label="expected", color="tab:blue")
            axis.legend(loc="upper right", fontsize=7)
        axis.set_title(title, fontsize=8)
        axis.set_xticks(index, [f"feature {i}" for i in index] if index.size <= 12 else None)
        axis.axhline(0, color="black", linewidth=0.5)
        axis.tick_params(labelsize=7)
    figure.tight_layout()
    out = path.with_suffix(".png")
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out


def _sample_0(values: Any) -> np.ndarray:
    """The first sample's values as a flat row (a scalar or a row per sample alike)."""
    array = np.asarray(values, dtype=float)
    return array.reshape(-1) if array.ndim <= 1 else array.reshape(array.shape[0], -1)[0]


def replay_command(prop: PropertyReport, gate: GateReport, examples: int) -> str:
    """The command line that reproduces ``prop``'s failure (``examples`` per property)."""
    if prop.saved is not None:
        return f"lrp-invariants replay {prop.saved} {gate.target}"
    seed = f" --seed {gate.seed}" if gate.seed is not None else ""
    arithmetic = f" --arithmetic {gate.arithmetic}" if gate.arithmetic != "ieee" else ""
    architecture = (
        f" --architecture {gate.architecture}" if gate.architecture != DEFAULT_ARCHITECTURE else ""
    )
    return (
        f"lrp-invariants check {gate.target} --method {gate.method} --property {prop.name} "
        f"--examples {examples}{seed}{arithmetic}{architecture}"
    )
