"""The kinds of network the gate draws, each with what it can hold targets to there.

An :class:`Architecture` names the cases the gate draws (``GateOptions.architecture``), the
properties it can check on them (a method's claim keeps those of its properties that are
among them) and which methods it can judge there. The target protocol follows from the case's
network (:func:`lrp_invariants.invariants.calling.call_target`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from hypothesis import strategies as st

from .claims import (
    ALL_PROPERTIES,
    BATCH_CONSISTENCY,
    BIAS_PROXY_CONSERVATION,
    DETERMINISM,
    INPUT_INVARIANCE,
    REFERENCE,
    SHIFT_DECOMPOSITION,
)
from .cnn_cases import CNNGateCase, cnn_gate_cases
from .defaults import ARCHITECTURES as DESCRIPTIONS
from .defaults import ARITHMETICS as ARITHMETIC_NAMES
from .defaults import DTYPES
from .files import BadFile, load_batch, load_cnn_file, load_inputs, load_network
from .strategies import cases_on, cnn_cases_on

if TYPE_CHECKING:
    from .gate.options import GateOptions
    from .methods import Method


@dataclass(frozen=True)
class Architecture:
    """A kind of network: its name, the properties the gate checks on it, the methods it can
    judge there, and the cases it draws for a run's options."""

    name: str
    properties: tuple[str, ...]
    judges: Callable[[Method], bool]
    cases: Callable[[GateOptions], st.SearchStrategy[Any]]
    own: Callable[[Path, Path | None, int, str], st.SearchStrategy[Any]]
    """Cases on the user's own network file and inputs file (``--network``, ``--inputs``),
    at most ``max_batch`` samples, in ``dtype``."""
    torch_protocol: str = "torch_target"  # the function of lrp_invariants.torch for --torch
    probes_flushing: bool = True  # whether the flush-to-zero probe (a dense network) applies
    dtypes: tuple[str, ...] = DTYPES  # the precisions its cases are drawn and bounded in
    arithmetics: tuple[str, ...] = tuple(ARITHMETIC_NAMES)  # the models its bounds cover

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.name]

    requires: Mapping[str, Callable[[Method], bool]] = field(default_factory=dict)
    """Properties checked here only for the methods that declare they can be (by name)."""

    def implied(self, method: Method) -> tuple[str, ...]:
        """The properties ``method`` implies that the gate checks on this architecture."""
        return tuple(
            name
            for name in method.properties
            if name in self.properties and self.requires.get(name, _anyone)(method)
        )


def _anyone(method: Method) -> bool:
    return True


def _mlp_cases(options: GateOptions) -> st.SearchStrategy[Any]:
    from .gate.options import default_cases  # the gate's options build on this module

    return default_cases(
        max_width=options.max_width,
        max_batch=options.max_batch,
        large_width=options.large_width,
        large_batch=options.large_batch,
        dtype=options.precision,
    )


def _cnn_cases(options: GateOptions) -> st.SearchStrategy[Any]:
    return cnn_gate_cases(max_batch=options.max_batch)


def _mlp_own(
    network: Path, inputs: Path | None, max_batch: int, dtype: str
) -> st.SearchStrategy[Any]:
    chosen = load_network(network).astype(dtype)
    x = None if inputs is None else load_inputs(inputs, chosen)
    return cases_on(chosen, x, max_batch=max_batch)


def _cnn_own(
    network: Path, inputs: Path | None, max_batch: int, dtype: str
) -> st.SearchStrategy[Any]:
    cnn = load_cnn_file(network)
    if cnn.dtype != np.dtype(dtype):
        raise BadFile(f"{network} holds a {cnn.dtype} CNN; CNN cases are {dtype}")
    taker = f"the CNN (input shape {cnn.input_shape})"
    x = None if inputs is None else load_batch(inputs, cnn.input_shape, cnn.dtype, taker)
    return cnn_cases_on(cnn, x, max_batch=max_batch).map(CNNGateCase.of)


CNN_PROPERTIES = tuple(
    claim.name
    for claim in (
        INPUT_INVARIANCE,
        SHIFT_DECOMPOSITION,
        BIAS_PROXY_CONSERVATION,
        BATCH_CONSISTENCY,
        DETERMINISM,
        REFERENCE,
    )
)
"""What the gate checks on CNNs: the seed's input invariance and shift decomposition,
bias-proxy conservation on net1 without sources (its own bias proxy: no bias, batch norm shift
or padding constant to relay; for the methods that declare it, LRP), batches, determinism and
the reference. Not yet: the proxy with the sources relayed (a relayed 1 cannot reach an output
whose window sees padding only), permuted or rescaled channels, baselines and data."""

ARCHITECTURES: dict[str, Architecture] = {
    "mlp": Architecture("mlp", ALL_PROPERTIES, lambda method: True, _mlp_cases, _mlp_own),
    "cnn": Architecture(
        "cnn",
        CNN_PROPERTIES,
        lambda method: method.on_cnns,
        _cnn_cases,
        _cnn_own,
        torch_protocol="torch_cnn_target",
        requires={
            BIAS_PROXY_CONSERVATION.name: lambda method: method.conserves_on_cnns,
            SHIFT_DECOMPOSITION.name: lambda method: method.decomposes_on_cnns,
        },
        probes_flushing=False,
        dtypes=("float64",),  # the CNN strategies draw float64
        arithmetics=("ieee",),  # the CNN operator enclosures bound gradual underflow only
    ),
}
"""Every architecture by name (the names and descriptions of
:data:`lrp_invariants.defaults.ARCHITECTURES`)."""
if set(ARCHITECTURES) != set(DESCRIPTIONS):
    raise ImportError("an architecture without a description in defaults.ARCHITECTURES")
