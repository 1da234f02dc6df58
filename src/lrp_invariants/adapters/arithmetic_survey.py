"""Which installed frameworks flush subnormal numbers to zero, measured, not assumed.

``python -m lrp_invariants.adapters.arithmetic_survey`` multiplies a subnormal number by 1 (an
operand that flush-to-zero hardware reads as 0) and divides the smallest normal number by 4 (a
result it flushes), in float32 and float64, with every framework it can import: numpy, torch on
the CPU (as installed, then after ``torch.set_flush_denormal(True)``), and TensorFlow on the CPU.
It prints one Markdown row per framework and setting, for README.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np

Probe = Callable[[str, float, float], tuple[float, float]]


def _numpy(dtype: str, operand: float, normal: float) -> tuple[float, float]:
    kind = np.dtype(dtype).type
    return float(kind(operand) * kind(1)), float(kind(normal) / kind(4))


def _torch(dtype: str, operand: float, normal: float) -> tuple[float, float]:
    import torch

    kind = getattr(torch, dtype)
    a = torch.tensor([operand], dtype=kind) * torch.tensor([1.0], dtype=kind)
    b = torch.tensor([normal], dtype=kind) / torch.tensor([4.0], dtype=kind)
    return float(a[0]), float(b[0])


def _tensorflow(dtype: str, operand: float, normal: float) -> tuple[float, float]:
    import tensorflow as tf

    kind = getattr(tf, dtype)
    a = tf.constant([operand], dtype=kind) * tf.constant([1.0], dtype=kind)
    b = tf.constant([normal], dtype=kind) / tf.constant([4.0], dtype=kind)
    return float(a.numpy()[0]), float(b.numpy()[0])


def flushes(probe: Probe, dtype: str) -> tuple[bool, bool]:
    """(reads subnormal operands as 0, flushes subnormal results to 0) for one framework."""
    info = np.finfo(np.dtype(dtype))
    operand = float(info.smallest_subnormal) * 3
    product, quotient = probe(dtype, operand, float(info.tiny))
    return product == 0.0, quotient == 0.0


def survey() -> list[tuple[str, str, bool, bool]]:
    """One row per framework, setting and dtype: (framework, dtype, operands read as 0,
    results flushed)."""
    rows: list[tuple[str, str, bool, bool]] = []
    # (name, probe, set up, tear down): the processor's flush mode is shared, so each setting
    # puts back what it changed before the next one runs
    settings: list[tuple[str, Probe, Callable[[], object] | None, Callable[[], object] | None]] = [
        (f"numpy {np.__version__}", _numpy, None, None)
    ]
    if importlib.util.find_spec("torch") is not None:
        import torch

        settings.append((f"torch {torch.__version__}, CPU", _torch, None, None))
        settings.append(
            (
                f"torch {torch.__version__}, CPU, set_flush_denormal(True)",
                _torch,
                lambda: torch.set_flush_denormal(True),
                lambda: torch.set_flush_denormal(False),
            )
        )
    if importlib.util.find_spec("tensorflow") is not None:
        import tensorflow as tf

        settings.append((f"tensorflow {tf.__version__}, CPU", _tensorflow, None, None))
    for name, probe, prepare, restore in settings:
        if prepare is not None:
            prepare()
        for dtype in ("float32", "float64"):
            rows.append((name, dtype, *flushes(probe, dtype)))
        if restore is not None:
            restore()
    return rows


def main() -> None:
    print("| framework | dtype | subnormal operand read as 0 | subnormal result flushed |")
    print("|---|---|---|---|")
    for name, dtype, operand, result in survey():
        print(f"| {name} | {dtype} | {'yes' if operand else 'no'} | {'yes' if result else 'no'} |")


if __name__ == "__main__":
    main()
