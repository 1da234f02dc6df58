"""Long fuzzing campaigns across many workers that share what they find.

The properties run unchanged under HypoFuzz workers (``hypothesis fuzz``) or pytest-xdist; what
the workers share is Hypothesis' example database. :func:`shared_database` opens one from a URL:

* ``redis://HOST:PORT/DB``: Hypothesis' Redis-backed database, for workers on many machines;
* a directory path: Hypothesis' directory database, the simple default on one machine.

Every failure a worker finds lands in that database under the test's key, where a plain
``pytest`` run with the same database replays it first (see the ``campaign-replay`` profile in
the repository's ``conftest.py``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

DATABASE_VARIABLE = "LRP_CAMPAIGN_DB"
DEFAULT_DATABASE = ".hypothesis/campaign"


@functools.cache
def _redis_database_class() -> Callable[[str], ExampleDatabase]:
    """Defined on first use, once: ``redis`` is only needed by those who use it."""
    from hypothesis.extra.redis import RedisExampleDatabase

    class SharedRedisDatabase(RedisExampleDatabase):
        """A Redis database equal to every other one on the same URL.

        Hypothesis' Redis database compares its client objects, and a client is equal only to
        itself, so two databases opened on the same server look different; HypoFuzz then skips
        every test whose database differs from the default one. Equality on the URL fixes that.
        """

        def __init__(self, url: str, **kwargs: Any) -> None:
            import redis

            super().__init__(redis.Redis.from_url(url), **kwargs)
            self.url = url

        def __eq__(self, other: object) -> bool:
            return isinstance(other, SharedRedisDatabase) and other.url == self.url

        def __hash__(self) -> int:
            return hash(("lrp-invariants-redis", self.url))

        def __repr__(self) -> str:
            return f"SharedRedisDatabase({self.url!r})"

    return SharedRedisDatabase


def shared_database(url: str | None = None) -> ExampleDatabase:
    """The example database at ``url`` (default ``$LRP_CAMPAIGN_DB`` or a local directory)."""
    where = url or os.environ.get(DATABASE_VARIABLE) or DEFAULT_DATABASE
    parsed = urlparse(where)
    if parsed.scheme == "redis":
        return _redis_database_class()(where)
    if parsed.scheme not in ("", "file"):
        raise ValueError(f"{DATABASE_VARIABLE}={where!r}: expected redis://host:port/db or a path")
    return DirectoryBasedExampleDatabase(Path(parsed.path if parsed.scheme else where))
