"""OpenTelemetry metrics from auth events (``pip install bearer-jwt-middleware[opentelemetry]``).

    from jwt_middleware.metrics.opentelemetry import OpenTelemetryMetrics

    app = JWTMiddleware(app, settings={..., "on_event": OpenTelemetryMetrics()})

Only ``opentelemetry-api`` is needed: the SDK and exporter you configure receive the data.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import metrics

from ..core.events import AuthEvent

__all__ = ["OpenTelemetryMetrics"]


class OpenTelemetryMetrics:
    """An ``on_event`` hook: a counter ``jwt_middleware.events`` (``kind``, ``reason``) and two histograms.

    ``jwt_middleware.verification.duration`` (seconds) for authenticated requests and
    ``jwt_middleware.key_fetch.duration`` (``outcome``) for JWKS fetches.

    Args:
        meter: the meter to record with; default ``metrics.get_meter("jwt_middleware")``.
    """

    def __init__(self, meter: Any = None) -> None:
        meter = meter if meter is not None else metrics.get_meter("jwt_middleware")
        self.events = meter.create_counter("jwt_middleware.events", description="Auth events by kind and reason")
        self.verification = meter.create_histogram("jwt_middleware.verification.duration", unit="s")
        self.key_fetch = meter.create_histogram("jwt_middleware.key_fetch.duration", unit="s")

    def __call__(self, event: AuthEvent) -> None:
        """Count one event, and record its duration where it has one.

        Args:
            event: the event.
        """
        self.events.add(1, {"kind": event.kind, "reason": event.reason})
        if event.duration is None:
            return
        if event.kind == "request.authenticated":
            self.verification.record(event.duration)
        elif event.kind in ("keys.fetched", "keys.fetch_failed"):
            self.key_fetch.record(event.duration, {"outcome": "ok" if event.kind == "keys.fetched" else "failed"})
