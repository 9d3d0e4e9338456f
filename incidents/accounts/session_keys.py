"""The server's half of every session's key (SECURITY.md property 28).

A session row is sealed under a key derived from two secrets: the cookie's, which only the
member's browser holds, and a server key, which lives only in Redis with a time to live
(shared by every worker and server) or, without Redis, in this process's memory. Neither
reaches the database nor its backups, so a backup plus a stolen cookie opens no session
row and no personal seed; a server key outlives the sessions it sealed by one lifetime at
most, then Redis forgets it.

One key serves every session begun in the same window of PERMANENT_SESSION_LIFETIME
(its epoch, from the row's created_at); it is kept two windows, so a session begun at the
end of one still lives its whole lifetime.
"""

import os
import threading
import time

import redis
from flask import current_app

KEY_BYTES = 32
_PREFIX = "incidents:session-key:"
_memory: dict[int, bytes] = {}
_memory_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}


def _window() -> int:
    return max(int(current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()), 60)


def epoch_of(timestamp: float) -> int:
    """The window a session begun at timestamp (seconds) belongs to."""
    return int(timestamp // _window())


def _redis() -> redis.Redis | None:
    url = current_app.config.get("RATELIMIT_STORAGE_URI") or ""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_timeout=2)
    return _clients[url]


def server_key(epoch: int, *, create: bool) -> bytes | None:
    """The server key of an epoch: made once (the first request that needs it), then the
    same for every worker; None once forgotten (or never made, when create is False)."""
    client = _redis()
    if client is None:
        with _memory_lock:
            if create and epoch not in _memory:
                _memory[epoch] = os.urandom(KEY_BYTES)
                for old in [e for e in _memory if e < epoch - 1]:
                    del _memory[old]  # forgotten like Redis's: two windows
            return _memory.get(epoch)
    name = f"{_PREFIX}{current_app.config.get('RATELIMIT_KEY_PREFIX') or ''}{epoch}"
    if create:
        client.set(name, os.urandom(KEY_BYTES), nx=True, ex=2 * _window())
    value = client.get(name)
    return bytes(value) if value is not None else None


def current_epoch() -> int:
    """The epoch of a session begun now."""
    return epoch_of(time.time())
