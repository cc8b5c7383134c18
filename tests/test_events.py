"""Auth events: the on_event hook and the logger's structured fields, metrics from them, settings from the environment."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from keyserver import KeyServer
from tokens import SECRET, claims, mint, rsa_pair

from jwt_middleware import (
    AuthEvent,
    ConfigError,
    MemoryRefreshStore,
    MemoryRevocationStore,
    RefreshRejected,
    SigningKey,
    TokenIssuer,
    TokenService,
    Verifier,
    load_settings,
    load_settings_from_env,
)
from jwt_middleware.core.events import KINDS, subject_digest
from jwt_middleware.gate.gate import Gate
from jwt_middleware.gate.request import Request

HS = {"algorithms": ["HS256"], "secret": SECRET}


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logs() -> Any:
    handler = Captured()
    logger = logging.getLogger("jwt_middleware")
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old)


def test_request_events_through_both_adapters(make: Any, logs: Captured) -> None:
    seen: list[AuthEvent] = []
    h = make({**HS, "on_event": seen.append})
    good = mint(claims(sub="alice", iss="https://idp.test"))
    assert h.request(headers=[("Authorization", f"Bearer {good}")]).status == 200
    assert h.request(headers=[("Authorization", f"Bearer {mint(claims(exp=1))}")]).status == 401
    assert h.request(headers=[("Authorization", "Bearer not-a-token")]).status == 401
    kinds = [(e.kind, e.reason) for e in seen]
    assert kinds == [("request.authenticated", "ok"), ("request.refused", "expired"), ("request.refused", "malformed_token")]
    ok = seen[0]
    assert ok.subject == subject_digest("alice") and ok.issuer == "https://idp.test" and ok.path == "/api"
    assert ok.client == "127.0.0.1" and ok.duration is not None and 0 < ok.duration < 1
    assert seen[1].status == 401 and seen[1].client == "127.0.0.1"
    fields = [r.__dict__ for r in logs.records if getattr(r, "auth_kind", None)]
    assert [(f["auth_kind"], f["auth_reason"]) for f in fields] == kinds, "the log lines carry the same fields in extra"
    assert fields[0]["auth_subject"] == subject_digest("alice") and fields[0]["auth_path"] == "/api"


def test_raw_subjects_only_when_asked(make: Any) -> None:
    seen: list[AuthEvent] = []
    make({**HS, "on_event": seen.append, "events_raw_subject": True}).request(headers=[("Authorization", f"Bearer {mint()}")])
    assert seen[0].subject == "alice"


def test_a_hook_that_raises_never_reaches_a_request(make: Any, logs: Captured) -> None:
    def broken(event: AuthEvent) -> None:
        raise RuntimeError("dashboard down")

    assert make({**HS, "on_event": broken}).request(headers=[("Authorization", f"Bearer {mint()}")]).status == 200
    assert any("reason=on_event_error" in r.getMessage() for r in logs.records)


def test_a_list_of_hooks_and_a_bad_one() -> None:
    first: list[str] = []
    second: list[str] = []
    gate = Gate(load_settings({**HS, "on_event": [lambda e: first.append(e.kind), lambda e: second.append(e.kind)]}))
    gate.authenticate(Request("GET", "/", (f"Bearer {mint()}",)))
    assert first == second == ["request.authenticated"]
    with pytest.raises(ConfigError, match="on_event"):
        load_settings({**HS, "on_event": ["not callable"]})


def test_key_fetch_events() -> None:
    seen: list[AuthEvent] = []
    ks = KeyServer()
    ks.keys = [rsa_pair().jwk()]
    try:
        gate = Gate(load_settings({"algorithms": ["RS256"], "jwks_url": ks.jwks_url, "on_event": seen.append}))
        gate.authenticate(Request("GET", "/", (f"Bearer {rsa_pair().sign(claims())}",)))
        ks.status = 500
        gate.verifier._sources[0][1]._state = type(gate.verifier._sources[0][1]._state)(jwks_url=ks.jwks_url)  # forget the keys
        gate.authenticate(Request("GET", "/", (f"Bearer {rsa_pair().sign(claims())}",)))
    finally:
        ks.stop()
    fetches = [(e.kind, e.reason) for e in seen if e.kind.startswith("keys.")]
    assert fetches == [("keys.fetched", "http_200"), ("keys.fetch_failed", "http_status")]
    assert all(e.duration is not None and e.issuer == "default" for e in seen if e.kind.startswith("keys."))


def test_session_events_from_the_token_service() -> None:
    seen: list[AuthEvent] = []
    revocation = MemoryRevocationStore()
    issuer = TokenIssuer(SigningKey.generate("ES256"), issuer="https://auth.test")
    svc = TokenService(issuer, MemoryRefreshStore(), revocation=revocation, reuse_grace_seconds=0, on_event=seen.append)
    first = svc.login("alice")
    second = svc.refresh(first.refresh_token)
    with pytest.raises(RefreshRejected):
        svc.refresh(first.refresh_token)  # reuse
    with pytest.raises(RefreshRejected):
        svc.refresh("nonsense")
    other = svc.login("bob")
    claims_ = Verifier(load_settings(issuer.settings(revocation=revocation))).verify(other.access_token)
    svc.logout(other.refresh_token, claims_)
    assert second.access_token
    assert [(e.kind, e.reason) for e in seen] == [
        ("login.succeeded", "ok"),
        ("refresh.rotated", "ok"),
        ("refresh.reused", "refresh_reused"),
        ("refresh.refused", "refresh_invalid"),
        ("login.succeeded", "ok"),
        ("logout", "ok"),
        ("revocation", "logout"),
    ]
    assert seen[0].subject == subject_digest("alice") and seen[0].issuer == "https://auth.test"
    assert {e.kind for e in seen} <= set(KINDS)


def test_no_event_or_log_line_holds_a_token_secret_or_password(make: Any, logs: Captured) -> None:
    seen: list[AuthEvent] = []
    password = "correct horse battery staple"
    h = make({**HS, "on_event": seen.append})
    tokens = [mint(claims(sub="alice", note=password)), mint(claims(exp=1)), mint(key="x" * 40), "a.b.c"]
    for token in tokens:
        h.request(headers=[("Authorization", f"Bearer {token}")])
    svc = TokenService(
        TokenIssuer(SigningKey.from_secret(SECRET), issuer="https://auth.test"), MemoryRefreshStore(), on_event=seen.append
    )
    pair = svc.login("alice")
    svc.refresh(pair.refresh_token)
    text = "\n".join([repr(e) for e in seen] + [r.getMessage() + repr(r.__dict__) for r in logs.records])
    for secret in (*tokens, SECRET, password, pair.refresh_token, pair.access_token, "alice"):
        for part in {secret, *secret.split(".")} - {"", "a", "b", "c"}:
            assert part not in text, f"{part[:12]}... reached an event or a log line"


def test_prometheus_metrics_count_by_reason_and_time_verification(make: Any) -> None:
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from jwt_middleware.metrics.prometheus import PrometheusMetrics

    metrics = PrometheusMetrics()
    h = make({**HS, "on_event": metrics})
    for _ in range(3):
        h.request(headers=[("Authorization", f"Bearer {mint()}")])
    h.request(headers=[("Authorization", f"Bearer {mint(claims(exp=1))}")])
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(metrics.registry).decode())}
    counts = {
        (s.labels["kind"], s.labels["reason"]): s.value
        for s in families["jwt_middleware_events"].samples
        if s.name.endswith("_total")
    }
    assert counts == {("request.authenticated", "ok"): 3.0, ("request.refused", "expired"): 1.0}
    timed = {s.name: s.value for s in families["jwt_middleware_verification_seconds"].samples}
    assert timed["jwt_middleware_verification_seconds_count"] == 3.0 and timed["jwt_middleware_verification_seconds_sum"] > 0


def test_opentelemetry_metrics_through_an_sdk_reader() -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from jwt_middleware.metrics.opentelemetry import OpenTelemetryMetrics

    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    hook = OpenTelemetryMetrics(meter)
    gate = Gate(load_settings({**HS, "on_event": hook}))
    gate.authenticate(Request("GET", "/", (f"Bearer {mint()}",)))
    gate.authenticate(Request("GET", "/", (f"Bearer {mint(claims(exp=1))}",)))
    data = reader.get_metrics_data()
    points: dict[str, Any] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points[metric.name] = list(metric.data.data_points)
    counted = {(p.attributes["kind"], p.attributes["reason"]): p.value for p in points["jwt_middleware.events"]}
    assert counted == {("request.authenticated", "ok"): 1, ("request.refused", "expired"): 1}
    assert points["jwt_middleware.verification.duration"][0].count == 1


def test_settings_from_the_environment() -> None:
    env = {
        "JWT_ALGORITHMS": "HS256,HS384",
        "JWT_SECRET": SECRET * 2,
        "JWT_LEEWAY": "10",
        "JWT_EXCLUDE_PATHS": '["/health", "/public/*"]',
        "JWT_ISSUER": "https://idp.test",
        "JWT_OPTIONAL": "true",
        "JWT_MIDDLEWARE_NOW": "1",  # the CLI's clock: not a setting, ignored
        "OTHER": "x",
    }
    settings = load_settings_from_env(environ=env)
    assert settings.algorithms == ["HS256", "HS384"] and settings.leeway == 10 and settings.optional is True
    assert settings.exclude_paths == ["/health", "/public/*"] and settings.issuer == "https://idp.test"
    with pytest.raises(ConfigError, match="JWT_ALGORITHM: names no setting; did you mean 'algorithms'"):
        load_settings_from_env(environ={"JWT_ALGORITHM": "HS256"})
    hooked = load_settings_from_env(environ={"JWT_ALGORITHMS": "HS256", "JWT_SECRET": SECRET}, leeway=0)
    assert hooked.leeway == 0
    assert time.time() > 0


def test_every_log_line_of_the_package_carries_its_reason_in_extra() -> None:
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "jwt_middleware"
    bare = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "log"
                and node.func.attr in ("debug", "info", "warning", "error", "exception", "log")
                and not any(k.arg == "extra" for k in node.keywords)
            ):
                bare.append(f"{path.relative_to(package)}:{node.lineno}")
    assert not bare, f"log lines without structured fields: {bare}"
