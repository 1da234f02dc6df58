"""From arguments to targets ready to gate: one target from the command line, or every target
of the nearest ``[tool.lrp-invariants]`` section, each checked and loaded before any runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Keys
from ..defaults import SIZE_OPTIONS, parsed_options
from ..methods import Method, Target
from ..progress import progress_line
from .loading import load_target
from .options import CONFIG_KEYS, configured_method
from .parser import CASES_FOLDER, check_parser
from .status import UsageError

if TYPE_CHECKING:
    from ..gate import GateOptions


def cases_folder(target: str, method: str) -> Path:
    """One folder per target and method under :data:`CASES_FOLDER`, named in plain characters."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{target}-{method}")
    return CASES_FOLDER / safe


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


def prepare(args: argparse.Namespace) -> PreparedTarget:
    """Check the arguments for one target, load it, and say where its cases go (``--report``,
    else one folder per target and method under :data:`CASES_FOLDER`)."""
    from hypothesis.errors import InvalidArgument

    from ..architectures import ARCHITECTURES
    from ..files import BadFile
    from ..gate import GateOptions, InvalidOption
    from ..gate import _properties as checked_properties  # what run_gate will check, or why not

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
    folder = args.report if args.report is not None else cases_folder(args.target, method.spec)
    return PreparedTarget(
        args.target, function, target, method, options, properties, folder, args.report is not None
    )


def _torch_target(fn: Target, device: str, protocol: str) -> Target:
    """``fn`` under the torch protocol named ``protocol`` (a function of
    :mod:`lrp_invariants.torch`: the architecture's), or a usage error saying what is missing."""
    try:
        from .. import torch as torch_protocols
    except ImportError as error:
        raise UsageError(
            f"--torch needs torch ({error}): pip install 'lrp-invariants[torch]'"
        ) from None
    try:
        wrapped: Target = getattr(torch_protocols, protocol)(fn, device=device)
    except torch_protocols.DeviceUnavailable as error:
        raise UsageError(str(error)) from None
    return wrapped


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
    from ..config import SECTION, ConfigError, find_configuration, load_configuration

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
    parser = check_parser()
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
            item = prepare(arguments)
        except UsageError as error:
            raise UsageError(f"{label}: {error}") from None
        if several and arguments.report is not None:  # one folder per target: no name clashes
            name = cases_folder(item.spec, item.method.spec).name
            item = replace(item, folder=arguments.report / name)
        prepared.append(item)
    return path, prepared
