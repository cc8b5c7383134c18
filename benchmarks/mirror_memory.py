"""What the revocation mirror costs in memory: bytes per entry, measured with tracemalloc."""

from __future__ import annotations

import hashlib
import time
import tracemalloc

ENTRIES = 200_000


def mirror_bytes_per_entry(entries: int = ENTRIES) -> float:
    """Load a mirror with ``entries`` revocations (as a reload does), and answer the bytes each costs.

    No Redis is needed: the mirror's tables are filled from rows as the feed reads them.

    Args:
        entries: how many ``jti`` revocations to load (default 200,000).
    """
    from jwt_middleware.stores.mirror import Mirror
    from jwt_middleware.stores.redis_link import Link

    until = time.time() + 3600
    members = [hashlib.sha256(str(n).encode()).hexdigest()[:40].encode() for n in range(entries)]
    mirror = Mirror(Link("redis://127.0.0.1:1/0", 0.5), ("j", "s", "f"), 86400, entries + 1)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        rows = [(member, until + n) for n, member in enumerate(members)]  # as redis-py answers: bytes and float
        mirror.replace(rows, [])
        del rows  # what the mirror keeps, and nothing of the reply
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        mirror.link.close()
    assert len(mirror.tables[0]) == entries
    return (after - before) / entries


def memory_section() -> float:
    """Print and answer the mirror's bytes per entry."""
    per_entry = mirror_bytes_per_entry()
    print(
        f"  revocation mirror: {per_entry:.0f} bytes per entry (tracemalloc, {ENTRIES:,} entries loaded);"
        f" {per_entry * 250_000 / 2**20:.0f} MiB per worker at the default mirror_max_entries (250,000)",
        flush=True,
    )
    return per_entry
