"""Loading a target: ``package.module:function`` or ``path/to/file.py:function``."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

from ..methods import Target
from .status import UsageError


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
