"""The argument parsers: the four commands, and ``check``'s arguments on their own (what a
configured target's words are parsed with). The choices come from the code that defines them."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..configuration import PRESETS, RULE_KINDS
from ..defaults import ARCHITECTURES as ARCHITECTURE_NAMES
from ..defaults import DEFAULT_ARCHITECTURE, add_flags
from ..defaults import positive as _positive
from ..methods import METHODS
from ..network import STARTS
from ..rules import BIAS_CONVENTIONS
from .options import PARAMETERS

CASES_FOLDER = Path(".lrp-invariants") / "cases"
"""Where ``check`` keeps each failing case when no ``--report`` folder is given."""


def command_parser() -> argparse.ArgumentParser:
    """The whole command line: ``check``, ``replay``, ``demo`` and ``methods``."""
    parser = argparse.ArgumentParser(
        prog="lrp-invariants",
        description="Verify attribution code with the invariants of input-shifted ReLU networks.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser(
        "check",
        help="run the gate on a target function, or on every target pyproject.toml lists",
        description="Gate TARGET, or without it every target of the nearest pyproject.toml's "
        "[tool.lrp-invariants] section (flags given here override the file's).",
    )
    _add_check_arguments(check)
    replay = commands.add_parser("replay", help="rerun one saved counterexample")
    replay.add_argument("file", type=Path, help="a .npz written by check --report")
    replay.add_argument("target", help="package.module:function or path/to/file.py:function")

    demo = commands.add_parser("demo", help="the reply's experiment on handwritten digits")
    demo.add_argument("--out", type=Path, default=None, help="folder for figures and summary")
    demo.add_argument("--hidden", type=_positive, nargs="+", default=[1024, 1024])
    demo.add_argument("--epochs", type=_positive, default=10)
    demo.add_argument("--seed", type=int, default=0)

    methods = commands.add_parser(
        "methods",
        help="which property holds for which method, or for one configuration",
        description="Without options: the table of every built-in method. With a method and "
        "parameters, or a composite: the properties that configuration implies, derived from "
        "its rules.",
    )
    _add_configuration(methods, required=False)
    methods.add_argument(
        "--architecture",
        choices=tuple(ARCHITECTURE_NAMES),
        default=DEFAULT_ARCHITECTURE,
        help="the table for this architecture: on cnn, the methods and properties the gate "
        "judges on CNNs",
    )
    return parser


def check_parser() -> argparse.ArgumentParser:
    """``check``'s arguments on their own, raising :class:`argparse.ArgumentError` instead of
    exiting, and without abbreviations: what a configured target's words are parsed with."""
    parser = argparse.ArgumentParser(
        prog="lrp-invariants check", allow_abbrev=False, exit_on_error=False
    )
    _add_check_arguments(parser)
    return parser


def _add_check_arguments(check: argparse.ArgumentParser) -> None:
    """The arguments of ``check``: the target, its claim, the gate's options, the cases and
    the outputs."""
    check.add_argument(
        "target",
        nargs="?",
        default=None,
        help="package.module:function or path/to/file.py:function (default: the targets of "
        "pyproject.toml's [tool.lrp-invariants] section)",
    )
    _add_configuration(check)
    add_flags(check.add_argument)  # --examples, --seed, --property, ...: the gate's options
    check.add_argument(
        "--network",
        type=Path,
        default=None,
        metavar="FILE.npz",
        help="run every property on your own network: an MLP's W0, b0, W1, b1, ...; with "
        "--architecture cnn, a CNN written by lrp_invariants.cnn.save_cnn (no pickle)",
    )
    check.add_argument(
        "--inputs",
        type=Path,
        default=None,
        metavar="FILE.npy",
        help="with --network: draw batches from these inputs, (n, d) or a CNN's (n, C, ...)",
    )
    check.add_argument(
        "--torch",
        action="store_true",
        help="the target follows the torch protocol: fn(model: nn.Sequential, x: Tensor, "
        "classes: Tensor) -> Tensor (needs the torch extra)",
    )
    check.add_argument(
        "--device",
        default=None,
        help="with --torch: where the gate builds the model and the tensors (cpu, cuda, "
        "cuda:1; default cpu)",
    )
    check.add_argument(
        "--report",
        type=Path,
        default=None,
        help="save each counterexample (.npz, .txt and a .png figure) in this folder (default: "
        f"the .npz and .txt, in {CASES_FOLDER}/, so that every failure can be replayed)",
    )
    _add_outputs(check)


def _add_outputs(parser: argparse.ArgumentParser) -> None:
    """Results for CI systems, beside the text report (outputs, not gate options: the pytest
    plugin has pytest's own)."""
    group = parser.add_argument_group("results for CI")
    group.add_argument(
        "--junit-xml",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the results as JUnit XML: a testsuite per target, a testcase per property "
        "(a failure holds its counterexample and replay command)",
    )
    group.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="FILE",
        help="write every property's row, worst errors and counterexample paths as JSON",
    )


def _bounds(text: str) -> list[float]:
    """``0`` or ``0/0/-1``: one bound, or one per input feature."""
    try:
        return [float(v) for v in text.split("/")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: write a number, or numbers joined by /"
        ) from None


def _add_configuration(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """``--method`` with its parameters, or a composite of rules per layer."""
    group = parser.add_argument_group(
        "what the target claims",
        "a method (lrp-epsilon, lrp-gamma, gradient, ...; `lrp-invariants methods` lists them) "
        "with parameters, e.g. --method lrp-epsilon --epsilon 1e-6, or --method "
        "lrp-gamma:0.25,bias=source; or a composite: --first zbox:low=0,high=1 --hidden "
        "gamma:0.25 --last epsilon:1e-6, or --composite zennit-epsilon-plus-flat",
    )
    group.add_argument(
        "--method",
        required=False,
        help=(
            f"what the target claims to compute: {', '.join(METHODS)}, with parameters "
            "(lrp-invariants methods describes them); integrated-gradients:baseline=given "
            "or deeplift-rescale:baseline=given take the "
            "baseline as a fifth argument, integrated-gradients:steps=K,rule=R is a K-node "
            "quadrature, pattern-net and pattern-attribution take the data they learn from"
        ),
    )
    for name in PARAMETERS:
        group.add_argument(f"--{name}", type=float, default=None, help=f"the rule's {name}")
    group.add_argument("--bias", choices=BIAS_CONVENTIONS, default=None)
    group.add_argument(
        "--low", type=_bounds, default=None, help="z^B's lower bound(s): 0 or 0/0/-1"
    )
    group.add_argument("--high", type=_bounds, default=None, help="z^B's upper bound(s)")
    group.add_argument(
        "--weights-once",
        action="store_true",
        help="gamma modifies the weights once, whatever the signs (Captum's GammaRule)",
    )
    rules = ", ".join(RULE_KINDS)
    for role in ("first", "hidden", "last"):
        group.add_argument(
            f"--{role}",
            metavar="RULE",
            default=None,
            help=f"the {role} layers' rule: {rules}, with parameters (epsilon:1e-6)",
        )
    group.add_argument(
        "--composite",
        metavar="PRESET",
        default=None,
        help=f"a library's preset: {', '.join(PRESETS)}",
    )
    group.add_argument(
        "--start",
        choices=STARTS,
        default=None,
        help="where LRP's relevance starts at the chosen class: its logit (default) or one "
        "(a one-hot, as Zennit's attributor(x, one_hot) starts it); also start=one in a spec",
    )
    parser.set_defaults(configuration_required=required)
