"""A project's gate configuration: ``[tool.lrp-invariants]`` in its ``pyproject.toml``, read by
``lrp-invariants check`` without a target argument::

    [tool.lrp-invariants]
    examples = 200                      # every target's, unless it sets its own

    [[tool.lrp-invariants.targets]]
    target = "my_package.explain:lrp_epsilon"
    method = "lrp-epsilon"
    epsilon = 1e-6

    [[tool.lrp-invariants.targets]]
    target = "src/my_package/cnn.py:lrp_0"
    method = "lrp-0"
    architecture = "cnn"

A key is a flag of ``check`` without its dashes (``examples``, ``time-limit``, ``dtype``,
``property = ["reference"]``, ``guided = true``, ``large-width = "16:64"``, ``network``, ...).
Each target becomes the command-line words those flags would be, so that it is parsed and
checked exactly as the command line is; a key the command does not know, or a value of the
wrong kind, is a :class:`ConfigError` naming the file, the target's index and the key. Paths
(``target`` files, ``network``, ``inputs``, ``report``) are relative to the file's folder."""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, before it joined the standard library
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

CONFIG_FILE = "pyproject.toml"
SECTION = "[tool.lrp-invariants]"


class ConfigError(ValueError):
    """A configuration the gate cannot run: the message names the file, the target's index
    and the key, and what to write instead."""


class Kind(Enum):
    """How a key's TOML value becomes command-line words."""

    VALUE = "a string or a number"
    FLAG = "true or false"
    REPEATED = "a name or a list of names"  # one flag per item (``--property``)
    RANGE = 'a range "LOW:HIGH", [LOW, HIGH] or "none"'
    BOUNDS = "a number or a list of numbers, one per input feature"
    PATH = "a path (relative to the configuration's folder)"


Keys = tuple[tuple[str, tuple[str, ...]], ...]
"""Keys with the command-line words each stands for, in the file's order."""


@dataclass(frozen=True)
class ConfiguredTarget:
    """One entry of ``targets``: its index, its spec as written, and its keys' words."""

    index: int
    spec: str
    keys: Keys


@dataclass(frozen=True)
class Configuration:
    """A ``[tool.lrp-invariants]`` section: the file, the section's own keys (every target's,
    beneath the target's own), and the targets."""

    path: Path
    shared: Keys
    targets: tuple[ConfiguredTarget, ...]

    @property
    def label(self) -> str:
        return f"{self.path} {SECTION}"


def find_configuration(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` that has a
    ``[tool.lrp-invariants]`` section (as pytest and ruff look for theirs), or None."""
    for folder in (start.resolve(), *start.resolve().parents):
        path = folder / CONFIG_FILE
        if path.is_file() and "lrp-invariants" in _read(path).get("tool", {}):
            return path
    return None


def load_configuration(path: Path, keys: Mapping[str, Kind]) -> Configuration:
    """Read ``path``'s section into targets, each key checked against ``keys`` (the flags of
    ``check``, by name, with the kind of value each takes)."""
    section = _read(path).get("tool", {}).get("lrp-invariants")
    where = f"{path} {SECTION}"
    if not isinstance(section, dict):
        raise ConfigError(f"{path} has no {SECTION} section")
    entries = section.get("targets")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(
            f"{where}: no targets: add [[tool.lrp-invariants.targets]] tables with target = "
            '"package.module:function" and method = "..."'
        )
    shared = {key: value for key, value in section.items() if key != "targets"}
    common = _words(shared, keys, path.parent, where, allow_target=False)
    targets = []
    for index, entry in enumerate(entries):
        label = f"{where} targets[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{label}: write a table ([[tool.lrp-invariants.targets]])")
        spec = entry.get("target")
        if not isinstance(spec, str) or not spec:
            raise ConfigError(f'{label}: no target: add target = "package.module:function"')
        own = _words(entry, keys, path.parent, label, allow_target=True)
        targets.append(ConfiguredTarget(index, spec, tuple(own)))
    return Configuration(path, tuple(common), tuple(targets))


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None


def _words(
    table: Mapping[str, Any], keys: Mapping[str, Kind], folder: Path, label: str, allow_target: bool
) -> list[tuple[str, tuple[str, ...]]]:
    """Each of ``table``'s keys with the command-line words it stands for (the target as the
    positional argument)."""
    words: list[tuple[str, tuple[str, ...]]] = []
    for key, value in table.items():
        if key == "target":
            if not allow_target:
                raise ConfigError(
                    f"{label}: target belongs in a [[tool.lrp-invariants.targets]] table"
                )
            words.append((key, (_target(value, folder),)))
            continue
        kind = keys.get(key)
        if kind is None:
            close = difflib.get_close_matches(key, [*keys, "target"], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; the keys are {', '.join(keys)}"
            raise ConfigError(f"{label}: unknown key {key!r}{hint}")
        try:
            words.append((key, tuple(_flag_words(key, value, kind, folder))))
        except (TypeError, ValueError):
            raise ConfigError(f"{label}: {key} = {_toml(value)}: write {kind.value}") from None
    return words


def _flag_words(key: str, value: Any, kind: Kind, folder: Path) -> list[str]:
    """``--key`` and its value's words; TypeError or ValueError for a value of another kind."""
    flag = f"--{key}"
    if kind is Kind.FLAG:
        if not isinstance(value, bool):
            raise TypeError(key)
        return [flag] if value else []
    if isinstance(value, (bool, dict)):
        raise TypeError(key)
    if kind is Kind.REPEATED:
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(item, str) for item in items):
            raise TypeError(key)
        return [word for item in items for word in (flag, item)]
    if kind is Kind.RANGE and isinstance(value, list):
        if len(value) != 2 or not all(_is_number(v) for v in value):
            raise ValueError(key)
        return [flag, f"{value[0]}:{value[1]}"]
    if kind is Kind.BOUNDS and isinstance(value, list):
        if not value or not all(_is_number(v) for v in value):
            raise ValueError(key)
        return [flag, "/".join(str(v) for v in value)]
    if isinstance(value, list):
        raise TypeError(key)
    if kind is Kind.PATH:
        if not isinstance(value, str):
            raise TypeError(key)
        return [flag, _path(value, folder)]
    return [flag, str(value)]


def _toml(value: Any) -> str:
    """``value`` as the file wrote it (``true``, ``"yes"``, ``[1, 2]``), for a message."""
    return json.dumps(value, default=str)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _path(value: str, folder: Path) -> str:
    """``value`` relative to the configuration's folder, written relative to the working
    directory where it lies below it (so that reports show the path as the file has it)."""
    path = Path(value)
    if path.is_absolute() or folder.resolve() == Path.cwd().resolve():
        return value
    full = folder / path
    try:
        return os.path.relpath(full)
    except ValueError:  # another drive (Windows)
        return str(full)


def _target(value: Any, folder: Path) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"target = {_toml(value)}: write a string, package.module:function")
    module, sep, attribute = value.rpartition(":")
    if sep and (module.endswith(".py") or "/" in module or os.sep in module):
        return f"{_path(module, folder)}:{attribute}"
    return value
