"""Prometheus metrics from auth events (``pip install bearer-jwt-middleware[prometheus]``).

from jwt_middleware.metrics.prometheus import PrometheusMetrics

metrics = PrometheusMetrics()
app = JWTMiddleware(app, settings={..., "on_event": metrics})
tokens = TokenService(..., on_event=metrics)
# serve prometheus_client.generate_latest(metrics.registry) at /metrics
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from ..core.events import AuthEvent

__all__ = ["PrometheusMetrics"]
_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0, 5.0)


class PrometheusMetrics:
    """An ``on_event`` hook: ``jwt_middleware_events_total{kind,reason}`` and two duration histograms.

    ``jwt_middleware_verification_seconds`` times authenticated requests (verification, a
    cached token's re-check included); ``jwt_middleware_key_fetch_seconds{outcome}`` times
    JWKS fetches. Issuers and subjects are not labels: their values are unbounded.

    Args:
        registry: where the metrics live; default a new ``CollectorRegistry`` (pass
            ``prometheus_client.REGISTRY`` to add them to the default one).
        namespace: the metric names' prefix (default ``jwt_middleware``).
    """

    def __init__(self, registry: CollectorRegistry | None = None, namespace: str = "jwt_middleware") -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.events = Counter(f"{namespace}_events", "Auth events by kind and reason", ["kind", "reason"], registry=self.registry)
        self.verification = Histogram(
            f"{namespace}_verification_seconds", "Time to authenticate a request", buckets=_BUCKETS, registry=self.registry
        )
        self.key_fetch = Histogram(
            f"{namespace}_key_fetch_seconds", "Time of a JWKS fetch", ["outcome"], buckets=_BUCKETS, registry=self.registry
        )

    def __call__(self, event: AuthEvent) -> None:
        """Count one event, and observe its duration where it has one.

        Args:
            event: the event.
        """
        self.events.labels(event.kind, event.reason).inc()
        if event.duration is None:
            return
        if event.kind == "request.authenticated":
            self.verification.observe(event.duration)
        elif event.kind in ("keys.fetched", "keys.fetch_failed"):
            self.key_fetch.labels("ok" if event.kind == "keys.fetched" else "failed").observe(event.duration)
