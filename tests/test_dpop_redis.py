"""The DPoP replay cache in Redis (a real redis-server): shared by processes, expiring on its
own, failing closed, through both adapters and with a redis.asyncio client."""

from __future__ import annotations

import signal
import time
import uuid
from typing import Any

import redis
import redis.asyncio
from harness import ASGIHarness, WSGIHarness
from redis_server import RedisServer
from test_dpop_requests import ORIGIN, bound, proof, send
from tokens import SECRET

from jwt_middleware.stores.redis import RedisDPoPReplay


def settings(replay: Any, **extra: Any) -> dict[str, Any]:
    return {"algorithms": ["HS256"], "secret": SECRET, "dpop_replay": replay, **ORIGIN, **extra}


def test_a_proof_spent_in_one_process_is_refused_in_another(redis_server: RedisServer) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    asgi = ASGIHarness(settings(RedisDPoPReplay(redis_server.url, prefix=prefix)))
    wsgi = WSGIHarness(settings(RedisDPoPReplay(redis.Redis.from_url(redis_server.url), prefix=prefix)))
    token = bound()
    once = proof(token)
    assert send(asgi, token, once).status == 200
    again = send(wsgi, token, once)
    assert (again.status, again.json["error"]) == (401, "invalid_dpop_proof")
    fresh = proof(token)
    assert send(wsgi, token, fresh).status == 200
    assert send(asgi, token, fresh).status == 401
    client = redis.Redis.from_url(redis_server.url)
    keys = client.keys(f"{prefix}dpop:*")
    assert len(keys) == 2
    ttl = client.pttl(keys[0])
    assert 0 < ttl <= (60 + 5) * 1000, "kept as long as the proof could be replayed, and no longer"


def test_an_asyncio_client_and_the_expiry(redis_server: RedisServer) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    replay = RedisDPoPReplay(redis.asyncio.Redis.from_url(redis_server.url), prefix=prefix)
    h = ASGIHarness(settings(replay, dpop_max_age_seconds=1, leeway=0))
    token = bound()
    once = proof(token)
    assert send(h, token, once).status == 200
    assert send(h, token, once).status == 401
    assert replay.claim("k:1", time.time() + 0.2)
    assert not replay.claim("k:1", time.time() + 0.2)
    time.sleep(0.4)
    assert replay.claim("k:1", time.time() + 0.2), "Redis forgot the entry once it could no longer be replayed"


def test_a_redis_outage_refuses_with_503_in_both_adapters() -> None:
    server = RedisServer()
    try:
        prefix = f"t{uuid.uuid4().hex[:8]}:"
        asgi = ASGIHarness(settings(RedisDPoPReplay(server.url, prefix=prefix, timeout=0.2)))
        wsgi = WSGIHarness(settings(RedisDPoPReplay(server.url, prefix=prefix, timeout=0.2)))
        token = bound()
        assert send(asgi, token, proof(token)).status == 200
        server.signal(signal.SIGSTOP)
        try:
            for h in (asgi, wsgi):
                r = send(h, token, proof(token))
                assert (r.status, r.headers.get("retry-after")) == (503, "1"), h.kind
                assert r.json["error"] == "temporarily_unavailable"
        finally:
            server.signal(signal.SIGCONT)
        assert send(wsgi, token, proof(token)).status == 200
    finally:
        server.cleanup()
