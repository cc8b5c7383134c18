"""Issue 22's findings at the auth endpoints (docs/security.md, "Audit findings (issue 22)"), each through
the ASGI app under uvicorn and the WSGI app under a threaded server."""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import http.client
import json
import logging
import secrets
import statistics
import threading
import time
import tracemalloc
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import websockets.exceptions
import websockets.sync.client
from servers import uvicorn_server, wsgi_server

import jwt_middleware.core.events as events_module
from jwt_middleware import (
    AuthEvent,
    ConfigError,
    KeyRing,
    MemoryRefreshStore,
    MemoryRevocationStore,
    SigningKey,
    TokenIssuer,
    TokenService,
    Verifier,
    load_settings,
    set_events_subject_key,
)
from jwt_middleware.core.events import subject_digest
from jwt_middleware.server import AuthEndpoints, auth_asgi_app, auth_wsgi_app
from jwt_middleware.server.throttle import MemoryLoginThrottle

FORM = "application/x-www-form-urlencoded"
ALICE = "grant_type=password&username=alice&password=wonderland"


def authenticate(username: str, password: str) -> str | None:
    return username if (username, password) == ("alice", "wonderland") else None


class Answer:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status, raw = response.status, response.read()
        self.headers = response.getheaders()
        self.raw = raw
        self.json: Any = json.loads(raw) if raw and response.getheader("content-type") == "application/json" else None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def cookies(self) -> dict[str, str]:
        """Set-Cookie values by cookie name."""
        return {v.partition("=")[0]: v for k, v in self.headers if k.lower() == "set-cookie"}


class Auth:
    """The endpoints over a key ring, served by a real server; ``call`` makes one request."""

    def __init__(self, kind: str, mount: str = "", **options: Any) -> None:
        self.kind, self.mount, self.ring = kind, mount, KeyRing(SigningKey.generate("ES256"))
        self.revocation = MemoryRevocationStore()
        self.issuer = TokenIssuer(self.ring, issuer="https://auth.test", audience="api")
        self.tokens = TokenService(self.issuer, MemoryRefreshStore(), revocation=self.revocation)
        self.endpoints = AuthEndpoints(self.tokens, authenticate, base_url="https://auth.test", **options)
        self.base = ""

    @contextlib.contextmanager
    def served(self) -> Iterator[Auth]:
        if self.kind == "asgi":
            app = auth_asgi_app(self.endpoints)
            if self.mount:
                from starlette.applications import Starlette
                from starlette.routing import Mount

                app = Starlette(routes=[Mount(self.mount, app)])
            server = uvicorn_server(app)
        else:
            app = auth_wsgi_app(self.endpoints)
            if self.mount:
                from werkzeug.middleware.dispatcher import DispatcherMiddleware
                from werkzeug.wrappers import Response

                app = DispatcherMiddleware(Response("app"), {self.mount: app})
            server = wsgi_server(app)
        with server as self.base:
            yield self

    def call(self, method: str, path: str, body: str | bytes = b"", kind: str = FORM, **headers: str) -> Answer:
        conn = http.client.HTTPConnection(self.base, timeout=10)
        try:
            sent = {k.replace("_", "-"): v for k, v in headers.items()}
            if body:
                sent["Content-Type"] = kind
            conn.request(method, self.mount + path, body, sent)
            return Answer(conn.getresponse())
        finally:
            conn.close()

    def verifier(self) -> Verifier:
        """A resource server's verifier, with the ring's keys of now."""
        return Verifier(load_settings(self.issuer.settings(revocation=self.revocation)))


@pytest.fixture(params=["asgi", "wsgi"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def auth(kind: str) -> Iterator[Auth]:
    with Auth(kind, secure_cookies=False).served() as served:
        yield served


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], caplog.text


# -- 7. revocation after a key rotation ---------------------------------------------------


@pytest.mark.parametrize("door", ["revoke", "logout"])
def test_finding_7_a_token_of_a_newer_key_is_revoked(auth: Auth, door: str) -> None:
    auth.ring.rotate()  # after the endpoints were built: the token below is signed by a key they never saw
    pair = auth.call("POST", "/auth/token", ALICE).json
    assert auth.verifier().verify(pair["access_token"])["sub"] == "alice"
    if door == "revoke":
        assert auth.call("POST", "/auth/revoke", f"token={pair['access_token']}").status == 200
    else:
        assert auth.call("POST", "/auth/logout", b"", Authorization=f"Bearer {pair['access_token']}").status == 204
    with pytest.raises(Exception, match="revoked"):
        auth.verifier().verify(pair["access_token"])


# -- 8. repeated parameters ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "kind_"),
    [
        pytest.param("/auth/token", ALICE + "&username=bob", FORM, id="form-token"),
        pytest.param("/auth/token", ALICE + "&grant_type=refresh_token", FORM, id="form-grant"),
        pytest.param("/auth/revoke", "token=a.b&token=c.d", FORM, id="form-revoke"),
        pytest.param(
            "/auth/login", '{"username":"alice","password":"x","password":"wonderland"}', "application/json", id="json-login"
        ),
        pytest.param("/auth/token", '{"grant_type":"password","a":{"b":1,"b":2}}', "application/json", id="json-nested"),
    ],
)
def test_finding_8_a_repeated_parameter_is_invalid_request(auth: Auth, path: str, body: str, kind_: str) -> None:
    answer = auth.call("POST", path, body, kind_)
    assert (answer.status, answer.json["error"]) == (400, "invalid_request"), answer.raw
    assert "more than once" in answer.json["error_description"] and "set-cookie" not in dict(answer.headers)


# -- 9. malformed requests are 400s, HEAD is a GET without body, the logout bug -----------


def test_finding_9_deep_json_is_a_400(auth: Auth, caplog: pytest.LogCaptureFixture) -> None:
    deep = '{"grant_type":' + '{"a":' * 5000 + "1" + "}" * 5000 + "}"
    answer = auth.call("POST", "/auth/token", deep, "application/json")
    assert (answer.status, answer.json["error"]) == (400, "invalid_request")
    no_traceback(caplog)


def test_finding_9_a_websocket_upgrade_is_refused_cleanly(auth: Auth, caplog: pytest.LogCaptureFixture) -> None:
    if auth.kind == "asgi":
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            websockets.sync.client.connect(f"ws://{auth.base}/auth/token", open_timeout=10)
        assert refused.value.response.status_code == 403
    else:  # WSGI has no WebSocket: the handshake is a GET that no endpoint answers
        answer = auth.call("GET", "/auth/token", Upgrade="websocket", Connection="Upgrade")
        assert answer.status == 405
    no_traceback(caplog)


@pytest.mark.parametrize("path", ["/.well-known/oauth-authorization-server", "/.well-known/jwks.json"])
def test_finding_9_head_on_a_document_is_a_get_without_body(auth: Auth, path: str) -> None:
    got, head = auth.call("GET", path), auth.call("HEAD", path)
    assert (head.status, head.raw) == (200, b"") and head.header("content-type") == "application/json"
    assert head.header("content-length") == str(len(got.raw)) and head.header("cache-control") == got.header("cache-control")


def test_finding_9_logout_with_an_empty_refresh_token_and_no_cookie(auth: Auth) -> None:
    answer = auth.call("POST", "/auth/logout", "refresh_token=")
    assert answer.status == 204 and set(auth.endpoints.cookie_names) <= set(answer.cookies)


# -- 11. the browser mode ------------------------------------------------------------------


def login_cookies(auth: Auth, **headers: str) -> dict[str, str]:
    answer = auth.call("POST", "/auth/login", "username=alice&password=wonderland", **headers)
    assert answer.status == 200, answer.raw
    return {name: value.partition("=")[2].partition(";")[0] for name, value in answer.cookies.items()}


def test_finding_11_logout_with_only_the_refresh_cookie_needs_the_csrf_token(auth: Auth) -> None:
    names = auth.endpoints.cookie_names
    jar = login_cookies(auth)
    cookie = f"{names.refresh}={jar[names.refresh]}; {names.csrf}={jar[names.csrf]}"
    refused = auth.call("POST", "/auth/logout", b"", Cookie=cookie)
    assert (refused.status, refused.json["error"]) == (400, "invalid_request")
    assert auth.call("POST", "/auth/refresh", f"refresh_token={jar[names.refresh]}").status == 200, "not logged out"
    jar = login_cookies(auth)
    cookie = f"{names.refresh}={jar[names.refresh]}; {names.csrf}={jar[names.csrf]}"
    assert auth.call("POST", "/auth/logout", b"", Cookie=cookie, X_CSRF_Token=jar[names.csrf]).status == 204
    assert auth.call("POST", "/auth/refresh", f"refresh_token={jar[names.refresh]}").status == 401, "logged out"


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        pytest.param({"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, False, id="fetch-cross-site"),
        pytest.param({"Origin": "https://evil.example"}, False, id="origin-only"),
        pytest.param({"Origin": "null"}, False, id="opaque-origin"),
        pytest.param({"Sec-Fetch-Site": "same-origin", "Origin": "https://auth.test"}, True, id="same-origin"),
        pytest.param({"Sec-Fetch-Site": "same-site", "Origin": "https://app.auth.test"}, True, id="same-site"),
        pytest.param({"Origin": "https://auth.test"}, True, id="own-origin"),
        pytest.param({}, True, id="no-browser"),
    ],
)
def test_finding_11_cross_site_browser_requests_are_refused(auth: Auth, headers: dict[str, str], allowed: bool) -> None:
    for path in ("/auth/login", "/auth/refresh", "/auth/logout"):
        answer = auth.call("POST", path, "username=alice&password=wonderland", **headers)
        if allowed:
            assert answer.status != 403, (path, answer.raw)
        else:
            assert (answer.status, answer.json["error"]) == (403, "access_denied") and not answer.cookies, path


def test_finding_11_two_refresh_cookies_are_ambiguous(auth: Auth) -> None:
    name = auth.endpoints.cookie_names.refresh
    mine = login_cookies(auth)[name]
    planted = login_cookies(auth)[name]
    answer = auth.call("POST", "/auth/refresh", b"", Cookie=f"{name}={planted}; {name}={mine}")
    assert (answer.status, answer.json["error"]) == (400, "invalid_request") and not answer.cookies
    assert auth.call("POST", "/auth/refresh", b"", Cookie=f"{name}={mine}").status == 200, "nothing was rotated"


def test_finding_11_secure_cookies_carry_host_and_secure_prefixes(kind: str) -> None:
    with Auth(kind).served() as auth:  # secure_cookies on, the default
        cookies = auth.call("POST", "/auth/login", "username=alice&password=wonderland").cookies
        assert set(cookies) == {"__Host-access_token", "__Secure-refresh_token", "__Host-csrf_token"}
        for name in ("__Host-access_token", "__Host-csrf_token"):
            assert "; Path=/;" in cookies[name] and "Secure" in cookies[name] and "Domain" not in cookies[name]
        assert "Path=/auth;" in cookies["__Secure-refresh_token"] and "Secure" in cookies["__Secure-refresh_token"]
        refresh = cookies["__Secure-refresh_token"].partition("=")[2].partition(";")[0]
        assert auth.call("POST", "/auth/refresh", b"", Cookie=f"__Secure-refresh_token={refresh}").status == 200
        unprefixed = auth.call("POST", "/auth/refresh", b"", Cookie=f"refresh_token={refresh}")
        assert unprefixed.status == 400, "a cookie without the prefix could have been planted: it is not read"


def test_finding_11_the_refresh_cookie_path_includes_the_mount_prefix(kind: str) -> None:
    with Auth(kind, mount="/identity", secure_cookies=False).served() as auth:
        answer = auth.call("POST", "/auth/login", "username=alice&password=wonderland")
        refresh = answer.cookies["refresh_token"]
        assert "; Path=/identity/auth;" in refresh, refresh
        value = refresh.partition("=")[2].partition(";")[0]
        rotated = auth.call("POST", "/auth/refresh", b"", Cookie=f"refresh_token={value}")
        assert rotated.status == 200 and "; Path=/identity/auth;" in rotated.cookies["refresh_token"]
        cleared = auth.call("POST", "/auth/logout", b"", Cookie=f"refresh_token={value}", X_CSRF_Token="x")
        assert cleared.status == 400, "no CSRF cookie to match"


def test_finding_13_failed_logins_never_fill_the_token_endpoints_replay_cache(kind: str) -> None:
    """Issue 22 item 13: a token request's proof is recorded only once its credentials passed."""
    from jwt_middleware.core.dpop import MemoryReplay
    from jwt_middleware.testing import DPoPKey

    replay = MemoryReplay()
    key = DPoPKey()
    url = "https://auth.test/auth/token"
    wrong = "grant_type=password&username=alice&password=nope"
    with Auth(kind, dpop_replay=replay).served() as auth:
        for _ in range(3):
            refused = auth.call("POST", "/auth/token", wrong, DPoP=key.proof("POST", url))
            assert refused.status == 400 and refused.json["error"] == "invalid_grant"
        assert len(replay) == 0
        proof = key.proof("POST", url)
        granted = auth.call("POST", "/auth/token", ALICE, DPoP=proof)
        assert granted.status == 200 and granted.json["token_type"] == "DPoP"
        assert len(replay) == 1
        replayed = auth.call("POST", "/auth/token", ALICE, DPoP=proof)
        assert replayed.status == 400 and replayed.json["error"] == "invalid_dpop_proof"
        made_up = "grant_type=refresh_token&refresh_token=nothing.atall"
        for _ in range(3):  # a refresh token of nobody's proves nothing: its proofs are not recorded either
            refused = auth.call("POST", "/auth/token", made_up, DPoP=key.proof("POST", url))
            assert refused.status == 400 and refused.json["error"] == "invalid_grant"
        assert len(replay) == 1
        refresh = f"grant_type=refresh_token&refresh_token={granted.json['refresh_token']}"
        again = key.proof("POST", url)
        rotated = auth.call("POST", "/auth/token", refresh, DPoP=again)
        assert rotated.status == 200 and len(replay) == 2
        newest = f"grant_type=refresh_token&refresh_token={rotated.json['refresh_token']}"
        replayed = auth.call("POST", "/auth/token", newest, DPoP=again)  # a captured proof and refresh token
        assert replayed.status == 400 and replayed.json["error"] == "invalid_dpop_proof"
        ended = auth.call("POST", "/auth/token", newest, DPoP=key.proof("POST", url))
        assert ended.status == 400 and ended.json["error"] == "invalid_grant", "the replay ended the family"


# -- 5, 6, 12. the login throttle ----------------------------------------------------------


class Counting:
    """``authenticate`` that counts its calls, folds case as many user tables do, and takes a password hash's time."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.calls, self.seconds, self.lock = 0, seconds, threading.Lock()

    def __call__(self, username: str, password: str) -> str | None:
        with self.lock:
            self.calls += 1
        time.sleep(self.seconds)
        return "alice" if (username.strip().casefold(), password) == ("alice", "wonderland") else None


def counted(kind: str, check: Counting, **options: Any) -> Auth:
    served = Auth(kind, **options)
    served.endpoints.authenticate = check
    return served


def token_request(auth: Auth, username: str, password: str, **headers: str) -> Answer:
    body = urllib.parse.urlencode({"grant_type": "password", "username": username, "password": password})
    return auth.call("POST", "/auth/token", body, **headers)


def parallel(auth: Auth, guesses: list[tuple[str, str]]) -> list[int]:
    """The guesses sent at once, each on its own connection; their statuses, in order."""
    start = threading.Barrier(len(guesses))

    def send(guess: tuple[str, str]) -> int:
        start.wait(10)
        return token_request(auth, *guess).status

    with concurrent.futures.ThreadPoolExecutor(len(guesses)) as pool:
        return list(pool.map(send, guesses))


@pytest.fixture(params=["memory", "redis"])
def throttle(request: pytest.FixtureRequest, kind: str) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryLoginThrottle()
        return
    import redis.asyncio

    from jwt_middleware.stores.redis import RedisLoginThrottle

    url = request.getfixturevalue("redis_server").url
    client = redis.asyncio.Redis.from_url(url) if kind == "asgi" else url  # ASGI: the awaitable forms, natively
    redis_throttle = RedisLoginThrottle(client, prefix=f"t-{uuid.uuid4().hex}:")
    yield redis_throttle
    redis_throttle.close()


def test_finding_5_parallel_guesses_never_outrun_the_account_limit(kind: str, throttle: Any) -> None:
    """Issue 22 item 5: 30 wrong guesses and the right one at once; at most the limit reach ``authenticate``."""
    check, limit = Counting(seconds=0.2), 5  # a password hash's time: every guess is in before a good login's release
    with counted(kind, check, throttle=throttle, account_limit=limit, address_limit=1000).served() as auth:
        guesses = [("alice", f"guess-{n}") for n in range(30)] + [("alice", "wonderland")]
        statuses = parallel(auth, guesses)
        assert check.calls <= limit, f"{check.calls} guesses reached authenticate, the limit is {limit}"
        assert statuses.count(429) >= len(guesses) - limit and set(statuses) <= {200, 400, 429}, statuses
        assert statuses[-1] in (200, 429), "the right password passes only if it was among the first admitted"
        if statuses[-1] == 429:
            later = token_request(auth, "alice", "wonderland")
            assert later.status == 429 and check.calls <= limit, "a correct password does not get through while throttled"


def test_finding_5_a_good_login_takes_its_attempt_back_from_the_address(kind: str, throttle: Any) -> None:
    check = Counting()
    with counted(kind, check, throttle=throttle, account_limit=2, address_limit=3).served() as auth:
        for _ in range(5):  # five good logins from one address: none of them is a failure of the address
            assert token_request(auth, "alice", "wonderland").status == 200
        assert [token_request(auth, f"user{n}", "x").status for n in range(4)] == [400, 400, 400, 429]


def test_finding_5_a_throttle_of_the_earlier_form_still_works_and_is_warned_about(kind: str) -> None:
    class Earlier:  # blocked / failed / succeeded only, as throttles were before admit
        def __init__(self) -> None:
            self.inner = MemoryLoginThrottle()

        def blocked(self, keys: list[tuple[str, int]], window: float) -> float:
            return self.inner.blocked(keys, window)

        def failed(self, keys: list[str], window: float) -> None:
            self.inner.failed(keys, window)

        def succeeded(self, key: str) -> None:
            self.inner.succeeded(key)

    with pytest.warns(DeprecationWarning, match="admit"):
        auth = counted(kind, Counting(), throttle=Earlier(), account_limit=2)
    with auth.served():
        assert [token_request(auth, "alice", "x").status for _ in range(3)] == [400, 400, 429]


@pytest.mark.parametrize(
    "variants",
    [
        pytest.param(["Alice", " alice", "aLice", "ALICE "], id="case-and-spaces"),
        pytest.param(["ａｌｉｃｅ", "alice\u00a0", "Ａlice", "alice"], id="nfkc"),  # noqa: RUF001 (full-width on purpose)
    ],
)
def test_finding_6_spellings_of_one_account_share_one_budget(kind: str, variants: list[str]) -> None:
    check = Counting()
    with counted(kind, check, account_limit=3, address_limit=1000).served() as auth:
        statuses = [token_request(auth, name, "guess").status for name in variants]
        assert statuses == [400, 400, 400, 429], statuses
        assert token_request(auth, "alice", "wonderland").status == 429 and check.calls == 3


def test_finding_6_an_ipv6_client_is_counted_by_its_64(kind: str) -> None:
    check = Counting()
    with counted(kind, check, account_limit=1000, address_limit=3, trusted_proxies=["127.0.0.1"]).served() as auth:

        def from_(address: str, n: int) -> int:
            return token_request(auth, f"user{n}", "x", X_Forwarded_For=address).status

        one_64 = ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9", "2001:db8:1:2:aaaa:bbbb:cccc:dddd"]
        assert [from_(a, n) for n, a in enumerate(one_64)] == [400, 400, 400, 429]
        assert from_("2001:db8:1:3::1", 9) == 400, "the next /64 is another client"
        mapped = ["203.0.113.9", "::ffff:203.0.113.9", "203.0.113.9", "::ffff:cb00:7109"]
        assert [from_(a, 10 + n) for n, a in enumerate(mapped)] == [400, 400, 400, 429], "an IPv4-mapped address is its IPv4"
        assert from_("203.0.113.10", 14) == 400, "IPv4 by address"


@pytest.mark.parametrize("path", ["/auth/token", "/auth/login"])
def test_finding_12_a_username_over_256_characters_is_refused_before_any_work(kind: str, path: str) -> None:
    check, memory = Counting(), MemoryLoginThrottle()
    with counted(kind, check, throttle=memory, secure_cookies=False).served() as auth:
        body = {"grant_type": "password", "password": "x"}
        refused = auth.call("POST", path, urllib.parse.urlencode({**body, "username": "a" * 257}))
        assert (refused.status, refused.json["error"]) == (400, "invalid_request") and check.calls == 0
        assert len(memory) == 0, "the throttle never saw it"
        taken = auth.call("POST", path, urllib.parse.urlencode({**body, "username": "a" * 256}))
        assert taken.json["error"] == "invalid_grant" and check.calls == 1


def test_finding_12_the_memory_throttle_keeps_a_fixed_size_per_account() -> None:
    """40 KiB usernames cost the throttle no more than short ones: it keeps a digest of each key."""
    memory = MemoryLoginThrottle()
    tracemalloc.start()
    try:
        for form in ("failed", "admit"):
            before = tracemalloc.get_traced_memory()[0]
            for n in range(200):
                key = f"account:{n:05d}" + "x" * 40_000
                if form == "failed":
                    memory.failed([key, "address:10.0.0.1"], 900)
                else:
                    memory.admit([(key, 5), ("address:10.0.0.2", 10_000)], 900, uuid.uuid4().hex)
                del key
            grown = (tracemalloc.get_traced_memory()[0] - before) / 200
            assert grown < 2048, f"{form}: {grown:.0f} bytes kept per failed login"
    finally:
        tracemalloc.stop()


def test_finding_12_events_name_accounts_by_a_keyed_digest(kind: str) -> None:
    """A password typed as a username must not be recoverable from the events: HMAC under a secret key, 128 bits."""
    seen: list[AuthEvent] = []
    with counted(kind, Counting(), account_limit=1).served() as auth:
        auth.tokens.events.hook = seen.append
        typed = "correct horse battery staple"
        token_request(auth, typed, "x")
        token_request(auth, typed, "x")
        token_request(auth, "alice", "wonderland")
    assert [e.kind for e in seen] == ["login.failed", "login.throttled", "login.succeeded"]
    named = seen[0].subject
    assert named == seen[1].subject == subject_digest(typed) and named is not None and len(named) == len("sub:") + 32
    unkeyed = hashlib.sha256(typed.encode()).hexdigest()
    assert unkeyed[:16] not in named and unkeyed[:32] not in named, "an unkeyed digest can be reversed by guessing"
    assert seen[2].subject == subject_digest("alice")
    assert subject_digest(typed, b"k" * 32) != named, "the digest depends on the key"


def test_finding_12_the_events_key_can_be_set_for_every_process() -> None:
    before = subject_digest("alice")
    try:
        set_events_subject_key("one key for the whole deployment, 32+ bytes")
        assert subject_digest("alice") == subject_digest("alice", b"one key for the whole deployment, 32+ bytes") != before
        with pytest.raises(ConfigError, match="32 bytes"):
            set_events_subject_key("short")
    finally:
        events_module._SUBJECT_KEY[0] = secrets.token_bytes(32)


def test_finding_12_the_example_answers_an_unknown_user_as_slowly_as_a_wrong_password(kind: str) -> None:
    """The example's ``authenticate`` hashes a dummy password for unknown users: no timing oracle for usernames."""
    from examples import auth_service

    endpoints = AuthEndpoints(
        auth_service.tokens, auth_service.authenticate, base_url="https://auth.test", account_limit=100, address_limit=100
    )
    app = auth_asgi_app(endpoints) if kind == "asgi" else auth_wsgi_app(endpoints)
    with uvicorn_server(app) if kind == "asgi" else wsgi_server(app) as base:
        auth = Auth(kind)
        auth.base = base

        def timed(username: str) -> float:
            started = time.perf_counter()
            assert token_request(auth, username, "not the password").status == 400
            return time.perf_counter() - started

        unknown, wrong = [], []
        for n in range(5):
            unknown.append(timed(f"nobody-{n}"))
            wrong.append(timed("alice"))
    ratio = statistics.median(unknown) / statistics.median(wrong)
    assert ratio > 0.5, f"an unknown user answers {1 / ratio:.0f}x faster than a wrong password"
