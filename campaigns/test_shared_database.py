"""A two-worker HypoFuzz campaign with a shared Redis database, end to end.

Runs in the ``fuzz`` tox environment, which pins HypoFuzz and the Hypothesis release it works
with. The test starts its own Redis server on 127.0.0.1, lets two HypoFuzz workers fuzz the
shift-decomposition property of a deliberately broken LRP, checks that the failure lands in the
shared database, and then shows that a plain ``pytest`` run in another checkout, allowed only to
replay the database (profile ``campaign-replay``), fails with that counterexample.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MUTANT = "tests/mutants.py:lrp0_drops_negative_inputs"
TEST = "campaigns/test_campaign.py::test_shift_decomposition"
CAMPAIGN_SECONDS = 300


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway Redis server on loopback, stopped at the end of the test."""
    server = shutil.which("redis-server")
    assert server, "redis-server is not installed (.ci/run installs Debian's redis-server)"
    port = _free_port()
    process = subprocess.Popen(
        [
            server,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _environment(database: str, profile: str) -> dict[str, str]:
    return {
        **os.environ,
        "LRP_TARGET": MUTANT,
        "LRP_METHOD": "lrp-0",
        "LRP_CAMPAIGN_DB": database,
        "HYPOTHESIS_PROFILE": profile,
    }


def _checkout(destination: Path) -> Path:
    """Another checkout of the repository: the files git tracks, copied elsewhere."""
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in files:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return destination


def test_a_failure_found_by_two_fuzzing_workers_replays_from_the_shared_database(
    redis_url: str, tmp_path: Path
) -> None:
    import redis

    fuzz = shutil.which("hypothesis", path=str(Path(sys.executable).parent))
    assert fuzz, "the fuzz environment installs hypofuzz, which provides `hypothesis fuzz`"
    workers = subprocess.Popen(
        [fuzz, "fuzz", "-n", "2", "--no-dashboard", "--", TEST, "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=_environment(redis_url, "campaign"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = workers.communicate(timeout=CAMPAIGN_SECONDS)
    finally:
        workers.kill()
    assert "Found a failing input for every test" in output, output[-3000:]

    keys = redis.Redis.from_url(redis_url).keys()
    failures = [k for k in keys if k.endswith(b".secondary")]
    assert failures, f"no failure in the shared database; keys: {keys}"

    checkout = _checkout(tmp_path / "another-checkout")
    replay = subprocess.run(
        [sys.executable, "-m", "pytest", TEST, "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=checkout,
        env=_environment(redis_url, "campaign-replay"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert replay.returncode == 1, replay.stdout[-3000:]
    assert "rx1 == rx3 + rm3" in replay.stdout and "Falsifying example" in replay.stdout
