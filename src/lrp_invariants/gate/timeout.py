"""The gate's time limit: each call of the target runs on a worker thread and is given up on
after a number of seconds (:class:`TargetHung`); a thread, so that it works on every platform
and inside any test runner, where signals do not."""

from __future__ import annotations

import queue
import threading
from typing import Any

from ..methods import Target


class TargetHung(BaseException):
    """A call did not return within the time limit. A BaseException, so that Hypothesis does
    not try to shrink by calling the hung target again."""


FIRST_CALL_FACTOR = 6
"""The first call of a gate run may take this many times the limit: it may import the
target's libraries (torch, Zennit, torchvision: seconds, more on a busy machine), which no
later call repeats."""

IDLE_SECONDS = 1.0
"""How long the worker thread of :func:`with_time_limit` waits for the next call before it
ends (a later call starts a fresh one)."""


def with_time_limit(target: Target, limit: float | None) -> Target:
    """Run each call on a worker thread and give up on it after ``limit`` seconds (the first
    call after :data:`FIRST_CALL_FACTOR` times that).

    One daemon worker serves the calls of a gate run in turn (starting a thread per call cost
    about a sixth of a run); it ends after :data:`IDLE_SECONDS` without work. A call that
    hangs leaves its worker behind with its own queue, so the target is never called twice at
    once."""
    if limit is None:
        return target
    lock = threading.Lock()
    state: dict[str, Any] = {"worker": None, "requests": None, "calls": 0}

    def serve(requests: queue.SimpleQueue[Any]) -> None:
        while True:
            try:
                args, outcome, done = requests.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with lock:  # no call can be queued for this worker while it decides to end
                    if requests.empty():
                        if state["requests"] is requests:
                            state["worker"] = state["requests"] = None
                        return
                continue
            try:
                outcome["value"] = target(*args)
            except BaseException as error:  # handed back to the caller's thread
                outcome["error"] = error
            done.set()

    def limited(*args: Any) -> Any:
        outcome: dict[str, Any] = {}
        done = threading.Event()
        with lock:
            if state["worker"] is None:
                requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
                worker = threading.Thread(target=serve, args=(requests,), daemon=True)
                state["worker"], state["requests"] = worker, requests
                worker.start()
            state["requests"].put((args, outcome, done))
            first = state["calls"] == 0
            state["calls"] += 1
        allowed = limit * FIRST_CALL_FACTOR if first else limit
        if not done.wait(allowed):
            with lock:  # abandon the hung worker: a later call gets a fresh one and queue
                state["worker"] = state["requests"] = None
            if first:
                raise TargetHung(
                    f"the target's first call did not return within {allowed:g} s "
                    f"({FIRST_CALL_FACTOR} x the limit of {limit} s, for its imports)"
                )
            raise TargetHung(f"the target did not return within {limit} s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    return limited
