"""Metrics exporters: hooks for ``on_event`` that count events by kind and reason and time the work.

``metrics.prometheus`` (``pip install bearer-jwt-middleware[prometheus]``) and
``metrics.opentelemetry`` (``[opentelemetry]``); each imports its library at import time.
"""
