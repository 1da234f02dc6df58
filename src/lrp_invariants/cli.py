"""``lrp-invariants``: the command line.

* ``check TARGET --method METHOD``: run the gate on ``package.module:function`` or
  ``path/to/file.py:function``. Exit 0 if every claimed property holds, 1 if one fails or the
  target misbehaves, 2 if the target cannot be loaded or the arguments are wrong;
  ``--junit-xml FILE`` and ``--json FILE`` write the results for CI, and under GitHub Actions
  each failure is also an ``::error`` annotation at the target's source line.
* ``replay FILE TARGET``: rerun one saved counterexample (from ``check --report DIR``).
* ``demo``: the reply's experiment on scikit-learn's handwritten digits.
* ``methods``: which property holds for which method.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from .config import Keys, Kind
from .configuration import PRESETS, RULE_KINDS
from .defaults import ARCHITECTURES as ARCHITECTURE_NAMES
from .defaults import (
    DEFAULT_ARCHITECTURE,
    FLAGS,
    SIZE_OPTIONS,
    add_flags,
    parsed_options,
    size_range,
)
from .defaults import positive as _positive
from .invariants import PROPERTIES
from .methods import METHODS, Method, Target
from .network import STARTS
from .progress import ProgressLine, progress_line
from .rules import BIAS_CONVENTIONS

if TYPE_CHECKING:
    from .gate import GateOptions, GateReport, PropertyReport
    from .gate.export import GateRun

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
CASES_FOLDER = Path(".lrp-invariants") / "cases"
"""Where ``check`` keeps each failing case when no ``--report`` folder is given."""


def _cases_folder(target: str, method: str) -> Path:
    """One folder per target and method under :data:`CASES_FOLDER`, named in plain characters."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{target}-{method}")
    return CASES_FOLDER / safe


class UsageError(Exception):
    """A problem with the command line or the target: exit status 2."""


def _package_path(path: Path) -> tuple[Path, str] | None:
    """The folder above the outermost package holding ``path``, and its dotted name there.

    ``tests/mutants.py`` inside ``tests/__init__.py`` is ``tests.mutants`` under the folder
    above ``tests``: imported that way its relative imports (``from .helpers import ...``) work,
    as they do under pytest. None when the file's folder is not a package."""
    path = path.resolve()
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file():
        parts.append(folder.name)
        if folder.parent == folder:
            break
        folder = folder.parent
    if len(parts) == 1:
        return None
    return folder, ".".join(reversed(parts))


def _import_file(path: Path) -> object:
    """Import a target file: as a member of its package when it lies in one, else on its own.

    A file in a package puts the folder above the package on ``sys.path`` (once), so the
    package's own imports resolve after the call too; a lone file is imported under a private
    name that cannot clash with an installed module."""
    if not path.is_file():
        raise UsageError(f"target file {path} does not exist")
    package = _package_path(path)
    if package is not None:
        root, dotted = package
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        module = importlib.import_module(dotted)
        if Path(getattr(module, "__file__", "") or "").resolve() != path.resolve():
            raise UsageError(
                f"{path} is {dotted} inside its package, but importing {dotted} found "
                f"{getattr(module, '__file__', None)}: another package of that name comes first "
                "on sys.path"
            )
        return module
    name = f"_lrp_invariants_target_{path.stem}"
    spec_ = importlib.util.spec_from_file_location(name, path)
    if spec_ is None or spec_.loader is None:
        raise UsageError(f"cannot import {path} as a Python module")
    module = importlib.util.module_from_spec(spec_)
    sys.modules[name] = module
    spec_.loader.exec_module(module)
    return module


def load_target(spec: str) -> Target:
    """Import ``package.module:function`` or ``path/to/file.py:function``."""
    module_name, sep, attribute = spec.rpartition(":")
    if not sep or not module_name or not attribute:
        raise UsageError(
            f"target {spec!r} must look like package.module:function or path/to/file.py:function"
        )
    try:
        if module_name.endswith(".py") or os.sep in module_name or "/" in module_name:
            module = _import_file(Path(module_name))
        else:
            module = importlib.import_module(module_name)
    except UsageError:
        raise
    except Exception as error:
        summary = str(error).splitlines()[0] if str(error) else ""
        raise UsageError(
            f"cannot import {module_name}: {type(error).__name__}: {summary}"
        ) from None
    target = getattr(module, attribute, None)
    if target is None:
        raise UsageError(f"{module_name} has no attribute {attribute!r}")
    if not callable(target):
        raise UsageError(f"{spec} is a {type(target).__name__}, not a function")
    return target


def _parser() -> argparse.ArgumentParser:
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


def _fail_usage(message: str) -> NoReturn:
    print(f"lrp-invariants: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


PARAMETERS = tuple(
    dict.fromkeys(
        name
        for kind in RULE_KINDS.values()
        for name in kind.parameters
        if name not in kind.text and name not in kind.lists
    )
)
"""The rules' numeric parameters, each a flag of its own (``--epsilon 1e-6``)."""


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


def configured_method(args: argparse.Namespace) -> Method | None:
    """The method the configuration options name (None if none and none is required)."""
    from .methods import method_from_options

    parameters = {
        name: getattr(args, name)
        for name in (*PARAMETERS, "bias", "low", "high")
        if getattr(args, name) is not None
    }
    if args.weights_once:
        parameters["sign_aware"] = False
    roles = {role: getattr(args, role) for role in ("first", "hidden", "last")}
    try:
        method = method_from_options(
            args.method, parameters, args.composite, roles, args.configuration_required
        )
        if method is None or args.start is None:
            return method
        if method.start != "logit" and method.start != args.start:
            raise ValueError(f"the method says start={method.start}, --start says {args.start}")
        return method.with_start(args.start)
    except ValueError as error:
        raise UsageError(
            str(error).replace("_", "-") if "takes" in str(error) else str(error)
        ) from None


def _check(args: argparse.Namespace) -> int:
    _check_outputs(args)
    if args.target is None:
        return _check_configured(args)
    return _finish(args, [_run(_prepare(args))])


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse an output path that cannot be a file before any work."""
    for flag, path in (("--junit-xml", args.junit_xml), ("--json", args.json)):
        if path is not None and path.is_dir():
            raise UsageError(f"{flag} {path} is a folder; name a file")


def _finish(args: argparse.Namespace, runs: Sequence[GateRun]) -> int:
    """Write the results CI systems read (JUnit XML, JSON, GitHub annotations under GitHub
    Actions) and return the exit status: 0 if every target passed, 1 otherwise."""
    from .gate.export import (
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


@dataclass(frozen=True)
class PreparedTarget:
    """A target ready to gate: everything the arguments say, checked, before any work."""

    spec: str
    function: Target  # as loaded: its source is what an annotation points at
    target: Target  # as called (under the torch protocol with --torch)
    method: Method
    options: GateOptions
    properties: tuple[str, ...]  # those the run checks: chosen, or implied on its networks
    folder: Path  # where its failing cases are saved
    draw: bool  # whether to draw each case (--report)


def _prepare(args: argparse.Namespace) -> PreparedTarget:
    """Check the arguments for one target, load it, and say where its cases go (``--report``,
    else one folder per target and method under :data:`CASES_FOLDER`)."""
    from hypothesis.errors import InvalidArgument

    from .architectures import ARCHITECTURES
    from .files import BadFile
    from .gate import GateOptions, InvalidOption
    from .gate import _properties as checked_properties  # what run_gate will check, or why not

    chosen = parsed_options(lambda name: getattr(args, name))
    try:
        if args.network is not None:
            sizes = {name: chosen.pop(name) for name in SIZE_OPTIONS}
            own = ARCHITECTURES[chosen["architecture"]].own
            chosen["cases"] = own(args.network, args.inputs, sizes["max_batch"], args.dtype)
            chosen["reduce"] = False  # the user's own network is the case, not a start for one
        elif args.inputs is not None:
            raise UsageError("--inputs needs --network: inputs belong to a network")
        elif args.large_batch is None:
            raise UsageError("--large-batch needs a range LOW:HIGH, not 'none'")
        options = GateOptions(
            **chosen, target_name=args.target, progress=progress_line(args.target, sys.stderr)
        )
    except (InvalidArgument, InvalidOption, BadFile) as error:
        raise UsageError(str(error)) from None
    method = configured_method(args)
    assert method is not None  # required for check
    try:
        properties = checked_properties(method, options)
    except InvalidOption as error:
        raise UsageError(str(error)) from None
    target = function = load_target(args.target)
    if args.device is not None and not args.torch:
        raise UsageError("--device needs --torch: plain targets take numpy arrays")
    if args.torch:
        protocol = ARCHITECTURES[options.architecture].torch_protocol
        target = _torch_target(target, args.device or "cpu", protocol)
    folder = args.report if args.report is not None else _cases_folder(args.target, method.spec)
    return PreparedTarget(
        args.target, function, target, method, options, properties, folder, args.report is not None
    )


def _run(prepared: PreparedTarget) -> GateRun:
    """Gate one prepared target, print its report, and save its failing cases."""
    from .gate import run_gate
    from .gate.counterexamples import draw_counterexample, replay_command, save_counterexample
    from .gate.export import GateRun

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


CONFIG_KEYS: dict[str, Kind] = {
    "method": Kind.VALUE,
    **dict.fromkeys(PARAMETERS, Kind.VALUE),
    "bias": Kind.VALUE,
    "low": Kind.BOUNDS,
    "high": Kind.BOUNDS,
    "weights-once": Kind.FLAG,
    **dict.fromkeys(("first", "hidden", "last", "composite", "start"), Kind.VALUE),
    **{
        flag.name: (
            Kind.FLAG
            if flag.settings.get("action") in ("store_true", "store_false")
            else Kind.REPEATED
            if flag.settings.get("action") == "append"
            else Kind.RANGE
            if flag.settings.get("type") is size_range
            else Kind.VALUE
        )
        for flag in FLAGS
    },
    "network": Kind.PATH,
    "inputs": Kind.PATH,
    "torch": Kind.FLAG,
    "device": Kind.VALUE,
    "report": Kind.PATH,
}
"""The keys of a ``[[tool.lrp-invariants.targets]]`` table besides ``target``: the flags of
``check`` that describe a target (not its outputs), each with the kind of value it takes."""


def _check_parser() -> argparse.ArgumentParser:
    """``check``'s arguments on their own, raising :class:`argparse.ArgumentError` instead of
    exiting, and without abbreviations: what a configured target's words are parsed with."""
    parser = argparse.ArgumentParser(
        prog="lrp-invariants check", allow_abbrev=False, exit_on_error=False
    )
    _add_check_arguments(parser)
    return parser


def _check_keys(parser: argparse.ArgumentParser, keys: Keys, label: str) -> None:
    """Parse each key's words on their own, so that a bad value names its key."""
    for key, words in keys:
        try:
            parser.parse_args(list(words))
        except argparse.ArgumentError as error:
            raise UsageError(f"{label}: {key}: {error.message}") from None


def prepare_configured(
    start: Path, words: Sequence[str] = (), properties_given: bool = False
) -> tuple[Path, list[PreparedTarget]]:
    """The targets of the nearest ``[tool.lrp-invariants]`` section at or above ``start``,
    each checked and loaded, with the command line's ``words`` over its keys (and those over
    the section's; ``properties_given``: the words choose the properties, not the file), and
    the file they came from. A :class:`UsageError` naming the file, the target's index and the
    key for anything wrong, before any target runs."""
    from .config import SECTION, ConfigError, find_configuration, load_configuration

    try:
        path = find_configuration(start)
        if path is None:
            raise UsageError(
                f"no target given, and no pyproject.toml with a {SECTION} section here or "
                "above: name a target (package.module:function), or list targets there "
                "(docs/gate.md)"
            )
        configuration = load_configuration(path, CONFIG_KEYS)
    except ConfigError as error:
        raise UsageError(str(error)) from None
    parser = _check_parser()
    _check_keys(parser, configuration.shared, configuration.label)
    several = len(configuration.targets) > 1
    prepared = []
    for entry in configuration.targets:
        label = f"{configuration.label} targets[{entry.index}] ({entry.spec})"
        _check_keys(parser, entry.keys, label)
        file_words = [
            word
            for key, key_words in (*configuration.shared, *entry.keys)
            if not (key == "property" and properties_given)  # the command line's list instead
            for word in key_words
        ]
        arguments = parser.parse_args([*file_words, *words])  # the later flag wins
        try:
            item = _prepare(arguments)
        except UsageError as error:
            raise UsageError(f"{label}: {error}") from None
        if several and arguments.report is not None:  # one folder per target: no name clashes
            name = _cases_folder(item.spec, item.method.spec).name
            item = replace(item, folder=arguments.report / name)
        prepared.append(item)
    return path, prepared


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


def _torch_target(fn: Target, device: str, protocol: str) -> Target:
    """``fn`` under the torch protocol named ``protocol`` (a function of
    :mod:`lrp_invariants.torch`: the architecture's), or a usage error saying what is missing."""
    try:
        from . import torch as torch_protocols
    except ImportError as error:
        raise UsageError(
            f"--torch needs torch ({error}): pip install 'lrp-invariants[torch]'"
        ) from None
    try:
        wrapped: Target = getattr(torch_protocols, protocol)(fn, device=device)
    except torch_protocols.DeviceUnavailable as error:
        raise UsageError(str(error)) from None
    return wrapped


def _replay(args: argparse.Namespace) -> int:
    from .gate.counterexamples import BadCounterexample, load_counterexample, replay

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
    from .invariants import property_table

    method = configured_method(args)
    if method is None:
        print(property_table(args.architecture))
        return EXIT_OK
    print(f"{method.describe()}\nspec: {method.spec}")
    for prop in PROPERTIES:
        print(f"  {prop}: {'yes' if prop in method.properties else 'no'}")
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(out=args.out, hidden=tuple(args.hidden), epochs=args.epochs, seed=args.seed)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": _check,
    "replay": _replay,
    "demo": _demo,
    "methods": _methods,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status (usage errors exit with 2)."""
    words = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(words)
    args.words = words[words.index(args.command) + 1 :]  # the command's own, for configured targets
    try:
        return COMMANDS[args.command](args)
    except UsageError as error:
        _fail_usage(str(error))


def run() -> NoReturn:
    """The console script: exit with :func:`main`'s status. Output is line-buffered, so that
    a CI log shows each report as it is printed even when piped."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(line_buffering=True)
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if any(t.daemon and t.is_alive() for t in threading.enumerate()):
        os._exit(status)  # a target that hung is still running in a daemon thread: leave it
    raise SystemExit(status)


if __name__ == "__main__":
    run()
