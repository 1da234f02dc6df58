"""What the command-line tests of torch code on CNNs share: a user's module of Captum code."""

from __future__ import annotations

from pathlib import Path

SALIENCY = (
    "from captum.attr import Saliency\n\n"
    "def saliency(model, x, classes):\n"
    "    return Saliency(model).attribute(x, target=classes, abs=True)\n"
)


def saliency_check(folder: Path, *options: str) -> list[str]:
    """Arguments of ``lrp-invariants check`` for Captum's saliency, written to ``folder`` as a
    user's module, on CNNs through the torch protocol, with ``options`` after them."""
    module = folder / "torch_saliency.py"
    module.write_text(SALIENCY)
    return [
        "check",
        f"{module}:saliency",
        "--method",
        "saliency",
        "--architecture",
        "cnn",
        "--torch",
        *options,
    ]
