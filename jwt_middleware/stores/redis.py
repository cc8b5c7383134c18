"""Revocations and refresh families shared by every process and machine, through Redis.

    from jwt_middleware.stores.redis import RedisRefreshStore, RedisRevocationStore

    store = RedisRevocationStore("redis://10.0.0.5:6379/0")                  # one Redis
    store = RedisRevocationStore(RedisCluster.from_url("redis://10.0.0.5:7000"))   # Cluster
    store = RedisRevocationStore(Sentinel([("10.0.0.9", 26379)]).master_for("auth"), wait_replicas=1)

``pip install bearer-jwt-middleware[redis]``. Each store takes a URL or a ready client:
``redis.Redis``, ``redis.cluster.RedisCluster`` or a Sentinel ``master_for`` client, or
their ``redis.asyncio`` twins. Every key of a store carries one hash tag (``{prefix}``), so
a store lives in one Cluster slot and its scripts, which declare every key they touch, stay
atomic; give stores different prefixes to spread them over nodes.

Every store speaks both ways. Given a ``redis.asyncio`` client, the awaitable forms
(``revoke_jti_async``, ``rotate_async``, ``claim_async``, ``blocked_async``, ...) do their
I/O on it, with no worker thread, and the revocation mirror's feed is an asyncio task; the
blocking forms use a sync client to the same place, which the store builds. Given a URL or
a sync client, the awaitable forms run the blocking call in a worker thread. Either way no
call blocks an event loop.
"""

from __future__ import annotations

from .redis_client import StoreWriteFailed
from .redis_guards import RedisDPoPReplay, RedisLoginThrottle
from .redis_refresh import RedisRefreshStore
from .redis_revocation import RedisRevocationStore

__all__ = ["RedisDPoPReplay", "RedisLoginThrottle", "RedisRefreshStore", "RedisRevocationStore", "StoreWriteFailed"]
