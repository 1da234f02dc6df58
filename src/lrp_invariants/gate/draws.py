"""A property's own draws (a permutation, a layer to rescale, ...), recorded while Hypothesis
makes them and handed back in order without Hypothesis, so that a saved failure replays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st


class Recorder:
    """Logs every value a property draws, so that a failure can be replayed without Hypothesis."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data
        self.values: list[Any] = []

    def __call__(self, strategy: st.SearchStrategy[Any]) -> Any:
        value = self.data.draw(strategy)
        self.values.append(value)
        return value


class MissingChoices(ValueError):
    """A saved case records fewer choices than its property draws."""


class Replayer:
    """Returns recorded draws in order, in place of Hypothesis (what a saved case replays)."""

    def __init__(self, values: Sequence[Any]) -> None:
        self.values = list(values)

    def __call__(self, strategy: st.SearchStrategy[Any]) -> Any:
        if not self.values:
            raise MissingChoices(
                "the saved case records fewer choices than the property draws: it is truncated "
                "or was saved for another property"
            )
        return self.values.pop(0)
