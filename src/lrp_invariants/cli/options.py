"""What the configuration options mean: the rules' parameter flags, the method they name, and
the keys a ``[[tool.lrp-invariants.targets]]`` table may hold."""

from __future__ import annotations

import argparse

from ..config import Kind
from ..configuration import RULE_KINDS
from ..defaults import FLAGS, size_range
from ..methods import Method
from .status import UsageError

PARAMETERS = tuple(
    dict.fromkeys(
        name
        for kind in RULE_KINDS.values()
        for name in kind.parameters
        if name not in kind.text and name not in kind.lists
    )
)
"""The rules' numeric parameters, each a flag of its own (``--epsilon 1e-6``)."""


def configured_method(args: argparse.Namespace) -> Method | None:
    """The method the configuration options name (None if none and none is required)."""
    from ..methods import method_from_options

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
