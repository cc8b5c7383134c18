"""Remote keys against a real HTTP server on 127.0.0.1: rotation, outages, attacks."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from keyserver import KeyServer
from tokens import b64, claims, ec_pair, mint, rsa_pair

from jwt_middleware import KeySourceUnavailable, Verifier, load_settings

A, B = rsa_pair("a"), rsa_pair("b")


@pytest.fixture
def ks() -> Iterator[KeyServer]:
    server = KeyServer()
    server.keys = [A.jwk()]
    yield server
    server.stop()


def remote(ks: KeyServer, **extra: Any) -> dict[str, Any]:
    return {"algorithms": ["RS256", "ES256"], "jwks_url": ks.jwks_url, "jwks_min_refresh_seconds": 0.3, **extra}


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


# -- fetching and caching, through both adapters ------------------------------------------


def test_cold_fetch_then_cached(make: Any, ks: KeyServer) -> None:
    h = make(remote(ks))
    assert ks.count() == 0  # fetched on first need, not at start-up
    for i in range(5):
        assert h.request(headers=bearer(A.sign(claims(n=i)))).status == 200
    assert ks.count() == 1
    assert ks.requests[0][1]["user-agent"].startswith("jwt_middleware")
    assert "authorization" not in ks.requests[0][1] and "cookie" not in ks.requests[0][1]


def test_rotation_in_unknown_kid_refreshes_once(make: Any, ks: KeyServer) -> None:
    h = make(remote(ks, jwks_min_refresh_seconds=0.3))
    assert h.request(headers=bearer(A.sign())).status == 200
    ks.keys = [A.jwk(), B.jwk()]
    time.sleep(0.35)
    assert h.request(headers=bearer(B.sign())).status == 200
    assert h.request(headers=bearer(B.sign(claims(n=1)))).status == 200
    assert ks.count() == 2


def test_unknown_kid_right_after_a_fetch_waits_for_the_limiter(make: Any, ks: KeyServer) -> None:
    h = make(remote(ks, jwks_min_refresh_seconds=60))
    assert h.request(headers=bearer(A.sign())).status == 200
    ks.keys = [A.jwk(), B.jwk()]
    t0 = time.monotonic()
    assert h.request(headers=bearer(B.sign())).status == 401
    assert time.monotonic() - t0 < 0.3, "no request ever waits on the limiter"
    assert ks.count() == 1


def test_rotation_out_key_that_leaves_stops_verifying(make: Any, ks: KeyServer) -> None:
    h = make(remote(ks, jwks_cache_seconds=1))
    token = A.sign()
    assert h.request(headers=bearer(token)).status == 200
    ks.keys = [B.jwk()]
    time.sleep(1.05)
    h.request(headers=bearer(B.sign()))  # past freshness: a refresh happens
    wait_until(lambda: ks.count() >= 2)
    wait_until(lambda: h.middleware.health()[0]["key_ids"] == ["b"])
    r = h.request(headers=bearer(token))
    assert r.status == 401, "a cached verification must not outlive its key"
    assert h.request(headers=bearer(B.sign())).status == 200


def test_unknown_kids_cannot_hammer_the_provider(make: Any, ks: KeyServer) -> None:
    h = make(remote(ks, jwks_min_refresh_seconds=1))
    assert h.request(headers=bearer(A.sign())).status == 200
    time.sleep(1.05)
    for i in range(100):
        forged = rsa_pair("attacker").sign(claims(), kid=f"random-{i}")
        assert h.request(headers=bearer(forged)).status == 401
    assert ks.count() == 2  # the first fetch, and one refresh for the first unknown kid


def test_negative_cache_of_kids_and_limiter(ks: KeyServer) -> None:
    v = Verifier(load_settings(remote(ks, jwks_min_refresh_seconds=0.5)))
    v.verify(A.sign())
    time.sleep(0.55)
    stranger = rsa_pair("attacker").sign(claims(), kid="ghost")
    for _ in range(3):
        with pytest.raises(Exception, match="unknown_key"):
            v.verify(stranger)
    assert ks.count() == 2
    time.sleep(0.55)
    with pytest.raises(Exception, match="unknown_key"):
        v.verify(stranger)
    assert ks.count() == 3  # after the limiter's interval, one more look


def test_cold_cache_provider_down_is_503_with_retry_after(make: Any, ks: KeyServer) -> None:
    ks.stop()
    h = make(remote(ks))
    r = h.request(headers=bearer(A.sign()))
    assert (r.status, r.called) == (503, False)
    assert int(r.headers["retry-after"]) >= 1
    assert r.json["error"] == "temporarily_unavailable"
    ks.start()


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 500}, id="http-500"),
        pytest.param({"body": b"<html>oops</html>"}, id="garbage"),
        pytest.param({"body": b'{"keys": 5}'}, id="keys-not-a-list"),
        pytest.param({"body": b'{"keys": []}'}, id="empty-set"),
        pytest.param({"body": json.dumps({"keys": [{"kty": "RSA", "n": "x"}] * 3}).encode()}, id="no-usable-key"),
        pytest.param({"body": b'{"keys": [' + b'{"kty":"EC"},' * 200 + b'{"kty":"EC"}]}'}, id="too-many-keys"),
        pytest.param({"body": b'{"pad":"' + b"x" * 600_000 + b'","keys":[]}'}, id="too-large"),
    ],
)
def test_cold_cache_bad_response_fails_closed(make: Any, ks: KeyServer, fault: dict[str, Any]) -> None:
    for k, v in fault.items():
        setattr(ks, k, v)
    h = make(remote(ks))
    r = h.request(headers=bearer(A.sign()))
    assert (r.status, r.called) == (503, False)


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(lambda ks: setattr(ks, "status", 500), id="http-500"),
        pytest.param(lambda ks: setattr(ks, "body", b"not json"), id="garbage"),
        pytest.param(lambda ks: setattr(ks, "delay", 1.5), id="slow-past-timeout"),
        pytest.param(lambda ks: ks.stop(), id="refused"),
    ],
)
def test_warm_cache_serves_stale_keys_when_refresh_fails(make: Any, ks: KeyServer, fault: Any) -> None:
    h = make(remote(ks, jwks_cache_seconds=1, jwks_timeout_seconds=0.5, jwks_min_refresh_seconds=0))
    assert h.request(headers=bearer(A.sign())).status == 200
    fault(ks)
    time.sleep(1.05)
    for i in range(5):
        t0 = time.monotonic()
        assert h.request(headers=bearer(A.sign(claims(n=i)))).status == 200
        assert time.monotonic() - t0 < 0.4, "a warm cache never makes a request wait"
    wait_until(lambda: h.middleware.health()[0]["consecutive_failures"] >= 1)
    health = h.middleware.health()[0]
    assert (health["state"], health["ready"]) == ("stale", True)


def test_past_max_stale_fails_closed(ks: KeyServer) -> None:
    v = Verifier(load_settings(remote(ks, jwks_cache_seconds=1, jwks_max_stale_seconds=0.5, jwks_min_refresh_seconds=0)))
    v.verify(A.sign())
    ks.stop()
    time.sleep(1.6)
    with pytest.raises(KeySourceUnavailable):
        v.verify(A.sign(claims(n=2)))
    ks.start()


def test_recovers_after_outage(ks: KeyServer) -> None:
    v = Verifier(load_settings(remote(ks, jwks_min_refresh_seconds=0)))
    ks.stop()
    with pytest.raises(KeySourceUnavailable):
        v.verify(A.sign())
    ks.start()
    v.verify(A.sign(claims(n=1)))


def test_slow_cold_fetch_times_out(ks: KeyServer) -> None:
    ks.delay = 3
    v = Verifier(load_settings(remote(ks, jwks_timeout_seconds=0.3)))
    t0 = time.monotonic()
    with pytest.raises(KeySourceUnavailable):
        v.verify(A.sign())
    assert time.monotonic() - t0 < 2.5
    assert v.health()[0]["last_error"] == "timeout"


def test_redirects_are_not_followed(ks: KeyServer) -> None:
    v = Verifier(load_settings(remote(ks, jwks_url=ks.base + "/redirect")))
    with pytest.raises(KeySourceUnavailable):
        v.verify(A.sign())
    assert ks.count("/jwks") == 0
    assert v.health()[0]["last_error"] == "redirect_refused"


def test_refresh_ahead_of_expiry_never_makes_a_request_wait(ks: KeyServer) -> None:
    v = Verifier(load_settings(remote(ks, jwks_cache_seconds=1)))
    v.verify(A.sign())
    ks.delay = 0.5
    time.sleep(0.92)  # past the refresh point (75-90 % of the lifetime), still fresh
    t0 = time.monotonic()
    v.verify(A.sign(claims(n=1)))
    assert time.monotonic() - t0 < 0.2
    wait_until(lambda: ks.count() == 2)
    assert v.health()[0]["state"] in ("fresh", "stale")


def test_cache_control_max_age_is_honoured_within_bounds(ks: KeyServer) -> None:
    ks.headers = {"Cache-Control": "public, max-age=120"}
    v = Verifier(load_settings(remote(ks, jwks_cache_seconds=600)))
    v.verify(A.sign())
    h = v.health()[0]
    assert 120 * 0.75 - 1 <= h["next_refresh"] - time.time() <= 120 * 0.9 + 1
    ks.headers = {"Cache-Control": "max-age=1"}  # clamped up to 60 s
    v2 = Verifier(load_settings(remote(ks, jwks_cache_seconds=600)))
    v2.verify(A.sign())
    assert 60 * 0.75 - 1 <= v2.health()[0]["next_refresh"] - time.time() <= 60 * 0.9 + 1


def test_etag_revalidation(ks: KeyServer) -> None:
    ks.etag = '"v1"'
    v = Verifier(load_settings(remote(ks, jwks_cache_seconds=1)))
    token = A.sign()
    v.verify(token)
    time.sleep(1.05)
    v.verify(A.sign(claims(n=1)))
    wait_until(lambda: ks.count() == 2)
    assert ks.requests[1][1].get("if-none-match") == '"v1"'
    wait_until(lambda: v.health()[0]["state"] == "fresh")
    v.verify(token)  # 304 kept the same key objects: the cached verification still holds


# -- key hygiene -------------------------------------------------------------------------


def test_bad_keys_are_skipped_one_by_one(ks: KeyServer, caplog: pytest.LogCaptureFixture) -> None:
    good = A.jwk()
    ks.keys = [
        B.jwk(use="enc"),
        B.jwk(key_ops=["encrypt"], kid="ops"),
        {"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "kid": "hmac"},
        {"kty": "XYZ", "kid": "weird"},
        rsa_pair("small", 1024).jwk(),
        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        "not an object",
        ec_pair().jwk(alg="RS256"),
        good,
    ]
    caplog.set_level(logging.WARNING, logger="jwt_middleware")
    v = Verifier(load_settings(remote(ks)))
    assert v.verify(A.sign())["sub"] == "alice"
    assert v.health()[0]["key_ids"] == ["a"]
    for reason in ("not_for_signatures", "symmetric_key", "unsupported_key", "weak_key", "bad_jwk", "alg_mismatch"):
        assert f"reason={reason}" in caplog.text
    with pytest.raises(Exception, match="unknown_key"):
        v.verify(B.sign(claims(), kid="ops"))


def test_duplicate_kids_in_a_set_are_ambiguous(ks: KeyServer) -> None:
    ks.keys = [A.jwk(), B.jwk(kid="a")]
    v = Verifier(load_settings(remote(ks)))
    with pytest.raises(Exception, match="ambiguous_key"):
        v.verify(A.sign())


def test_hmac_token_never_verified_by_a_published_key(ks: KeyServer) -> None:
    secret = b"secret" * 6
    ks.keys = [{"kty": "oct", "k": b64(secret), "kid": "a"}, A.jwk()]
    v = Verifier(load_settings(remote(ks)))
    forged = mint(claims(), key=secret, alg="HS256", kid="a")
    with pytest.raises(Exception, match="alg_not_allowed"):
        v.verify(forged)


# -- OIDC discovery ----------------------------------------------------------------------


@pytest.mark.parametrize("slash", ["", "/"])
def test_oidc_discovery(make: Any, ks: KeyServer, slash: str) -> None:
    issuer = ks.base + slash
    ks.discovery = {"issuer": issuer, "jwks_uri": ks.jwks_url}
    h = make({"algorithms": ["RS256"], "issuer": issuer, "oidc_discovery": True})
    assert h.request(headers=bearer(A.sign(claims(iss=issuer)))).status == 200
    assert ks.count("/.well-known/openid-configuration") == 1 and ks.count() == 1


def test_oidc_discovery_issuer_must_match(ks: KeyServer) -> None:
    ks.discovery = {"issuer": "https://evil.example", "jwks_uri": ks.jwks_url}
    v = Verifier(load_settings({"algorithms": ["RS256"], "issuer": ks.base, "oidc_discovery": True}))
    with pytest.raises(KeySourceUnavailable):
        v.verify(A.sign(claims(iss=ks.base)))
    assert ks.count() == 0
    assert v.health()[0]["last_error"] == "issuer_mismatch"


def test_oidc_discovery_refuses_insecure_jwks_uri(ks: KeyServer) -> None:
    ks.discovery = {"issuer": ks.base, "jwks_uri": "http://idp.example.com/jwks"}
    v = Verifier(load_settings({"algorithms": ["RS256"], "issuer": ks.base, "oidc_discovery": True}))
    with pytest.raises(KeySourceUnavailable):
        v.verify(A.sign(claims(iss=ks.base)))
    assert v.health()[0]["last_error"] == "bad_discovery"


# -- concurrency -------------------------------------------------------------------------


def test_50_asyncio_tasks_on_a_cold_cache_make_one_fetch(ks: KeyServer) -> None:
    ks.delay = 0.3
    v = Verifier(load_settings(remote(ks)))
    tokens = [A.sign(claims(n=i)) for i in range(50)]

    async def main() -> list[Any]:
        return await asyncio.gather(*(v.verify_async(t) for t in tokens))

    results = asyncio.run(main())
    assert [r["n"] for r in results] == list(range(50))
    assert ks.count() == 1


def test_20_threads_on_a_cold_cache_make_one_fetch(ks: KeyServer) -> None:
    ks.delay = 0.3
    v = Verifier(load_settings(remote(ks)))
    barrier = threading.Barrier(20)
    results: list[Any] = [None] * 20

    def worker(i: int) -> None:
        barrier.wait()
        results[i] = v.verify(A.sign(claims(n=i)))["n"]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == list(range(20))
    assert ks.count() == 1


def test_event_loop_never_stalls_during_a_slow_fetch(ks: KeyServer) -> None:
    ks.delay = 1.0
    v = Verifier(load_settings(remote(ks)))

    async def main() -> float:
        gaps: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            last = time.monotonic()
            while not done.is_set():
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        tick = asyncio.create_task(ticker())
        await asyncio.gather(*(v.verify_async(A.sign(claims(n=i))) for i in range(10)))
        done.set()
        await tick
        assert len(gaps) > 50, "the ticker ran all through the fetch"
        return max(gaps)

    assert asyncio.run(main()) < 0.2
    assert ks.count() == 1


def test_a_cancelled_waiter_does_not_cancel_the_fetch_for_others(ks: KeyServer) -> None:
    ks.delay = 0.4
    v = Verifier(load_settings(remote(ks)))

    async def main() -> Any:
        first = asyncio.create_task(v.verify_async(A.sign()))
        second = asyncio.create_task(v.verify_async(A.sign(claims(n=2))))
        await asyncio.sleep(0.1)
        first.cancel()
        return await second

    assert asyncio.run(main())["n"] == 2
    assert ks.count() == 1


def test_health_snapshot(ks: KeyServer) -> None:
    v = Verifier(load_settings(remote(ks)))
    before = v.health()[0]
    assert (before["state"], before["ready"], before["key_ids"], before["last_success"]) == ("cold", False, [], None)
    v.verify(A.sign())
    after = v.health()[0]
    assert (after["state"], after["ready"], after["key_ids"], after["consecutive_failures"]) == ("fresh", True, ["a"], 0)
    assert after["jwks_url"] == ks.jwks_url and abs(after["last_success"] - time.time()) < 5 and after["fetches"] == 1


@pytest.mark.parametrize(("server", "clients"), [("uvicorn", 50), ("wsgiref-threaded", 20)])
def test_cold_cache_under_a_real_server_makes_one_fetch(ks: KeyServer, server: str, clients: int) -> None:
    import concurrent.futures
    import http.client

    from servers import uvicorn_server, wsgi_server

    from examples import raw_asgi, raw_wsgi

    ks.delay = 0.5
    settings = {**remote(ks), "algorithms": ["RS256"]}
    run = uvicorn_server(raw_asgi.build_app(settings)) if server == "uvicorn" else wsgi_server(raw_wsgi.build_app(settings))
    tokens = [A.sign(claims(sub=f"u{i}")) for i in range(clients)]
    barrier = threading.Barrier(clients)

    def call(token: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(base, timeout=15)
        try:
            barrier.wait()
            conn.request("GET", "/hello", headers={"Authorization": f"Bearer {token}"})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    with run as base, concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(call, tokens))
    assert [s for s, _ in results] == [200] * clients
    assert [json.loads(b)["sub"] for _, b in results] == [f"u{i}" for i in range(clients)]
    assert ks.count() == 1
