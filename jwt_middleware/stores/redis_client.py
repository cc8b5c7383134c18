"""The Redis stores' clients: a URL or a ready client, and the sync twin of a ``redis.asyncio`` client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.sentinel
import redis.cluster
import redis.sentinel
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from ..core.errors import ConfigError, RevocationUnavailable

__all__ = ["FAILURES", "StoreWriteFailed", "client_for", "text"]

FAILURES: tuple[type[BaseException], ...] = (redis.RedisError, redis.exceptions.RedisClusterException, OSError, TimeoutError)


class StoreWriteFailed(RevocationUnavailable):
    """A write did not reach Redis (or the replicas that ``wait_replicas`` asks for) after every retry.

    Args:
        reason: ``store_write_failed`` or ``store_write_not_durable``.
        description: a fixed description.
    """

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(reason, description, 1)


def client_for(url_or_client: Any, timeout: float) -> Any:
    if isinstance(url_or_client, str):
        return redis.Redis.from_url(  # a stale pooled connection is retried, not an outage
            url_or_client, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30, **_retrying()
        )
    if isinstance(url_or_client, redis.asyncio.Redis | redis.asyncio.RedisCluster):
        return _sync_twin(url_or_client)
    if not hasattr(url_or_client, "register_script"):
        raise ConfigError("client", "expected a redis URL, or a Redis, RedisCluster or Sentinel client (sync or asyncio)")
    return url_or_client


# What a sync twin copies from a redis.asyncio client: where and how to connect, nothing of its internals.
_SETTINGS = (
    "host", "port", "path", "db", "username", "password", "credential_provider", "client_name", "protocol",
    "socket_timeout", "socket_connect_timeout", "socket_keepalive", "encoding", "encoding_errors",
    "ssl_keyfile", "ssl_certfile", "ssl_cert_reqs", "ssl_ca_certs", "ssl_ca_data", "ssl_check_hostname",
    "ssl_min_version", "ssl_ciphers", "ssl_password",
)  # fmt: skip


def _settings(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return {name: kwargs[name] for name in _SETTINGS if name in kwargs}


def _retrying() -> dict[str, Any]:
    retry = Retry(ExponentialBackoff(cap=0.2, base=0.02), 3)
    return {"retry": retry, "retry_on_error": [redis.ConnectionError, redis.TimeoutError]}


def _sync_twin(client: Any) -> Any:
    """A sync client to the same Redis, Cluster or Sentinel service as a ``redis.asyncio`` one.

    The mirror's feed reads in a thread and the sync calls (the WSGI adapter's) need a sync
    connection; one client given, one place to configure. The asyncio client's own pool is
    left to its owner.
    """
    node_class: Any = redis.cluster.ClusterNode  # redis-py leaves these untyped
    sentinel_class: Any = redis.sentinel.Sentinel
    if isinstance(client, redis.asyncio.RedisCluster):
        nodes = [node_class(node.host, node.port) for node in client.get_nodes() or client.startup_nodes]
        return redis.cluster.RedisCluster(startup_nodes=nodes, **_settings(client.connection_kwargs))
    pool = client.connection_pool
    if isinstance(pool, redis.asyncio.sentinel.SentinelConnectionPool):
        manager = pool.sentinel_manager
        addresses = [(s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
                     for s in manager.sentinels]  # fmt: skip
        sentinel = sentinel_class(
            addresses, min_other_sentinels=manager.min_other_sentinels,
            sentinel_kwargs=_settings(manager.sentinel_kwargs), **_settings(manager.connection_kwargs),
        )  # fmt: skip
        return sentinel.master_for(pool.service_name, **_settings(pool.connection_kwargs), **_retrying())
    kind = pool.connection_class
    if issubclass(kind, redis.asyncio.connection.UnixDomainSocketConnection):
        connection: type[Any] = redis.UnixDomainSocketConnection
    elif issubclass(kind, redis.asyncio.connection.SSLConnection):
        connection = redis.SSLConnection
    else:
        connection = redis.Connection
    settings = _settings(pool.connection_kwargs) | _retrying()
    return redis.Redis(connection_pool=redis.ConnectionPool(connection_class=connection, **settings))


def text(value: Any) -> str:
    """A Redis reply as text (bytes decoded, ``None`` as empty).

    Args:
        value: the reply.
    """
    return value.decode() if isinstance(value, bytes) else str(value or "")
