"""The gate's defaults, defined once: the CLI, the Python API and the pytest plugin share them."""

from __future__ import annotations

DEFAULT_EXAMPLES = 100
"""Examples per property: enough for the derandomised search to reach every case family."""

DEFAULT_TIME_LIMIT = 10.0
"""Seconds one call of the target may take before the gate calls it hung."""

DEFAULT_MAX_WIDTH = 4
"""Units per layer in most drawn networks: small cases shrink to something a person reads."""

DEFAULT_MAX_BATCH = 3
"""Samples in most drawn batches."""

DEFAULT_LARGE_WIDTH = (16, 64)
"""Units per layer in the large size tier (about one case in eight), where code that changes
with size shows: blocked kernels, TF32 from some width on, chunked batches."""

DEFAULT_LARGE_BATCH = (8, 64)
"""Samples per batch in the large size tier."""
