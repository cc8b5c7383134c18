"""One bounded HTTP GET for key sets and discovery documents.

No redirects, no credentials, a total deadline and a size cap. Runs in a worker thread
(see ``keysets.remote``), so it may block; the event loop never waits on it.
"""

from __future__ import annotations

import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

from ..config.validate import is_loopback

USER_AGENT = "jwt_middleware (+https://pypi.org/project/bearer-jwt-middleware/)"


class FetchError(Exception):
    """A fetch failed; ``reason`` is the code that is logged and shown in health snapshots."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Message
    body: bytes


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError for the 3xx, which we refuse


_OPENER = urllib.request.build_opener(_NoRedirects())
_DIRECT = urllib.request.build_opener(_NoRedirects(), urllib.request.ProxyHandler({}))


def _read(response: Any, max_bytes: int, deadline: float) -> bytes:
    chunks, size = [], 0
    while chunk := response.read(min(65536, max_bytes + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise FetchError("too_large", f"more than {max_bytes} bytes")
        if time.monotonic() > deadline:
            raise FetchError("timeout", "body too slow")
    return b"".join(chunks)


def fetch(url: str, *, timeout: float, max_bytes: int, etag: str | None = None) -> Response:
    """GET ``url``; a 200 or 304 is returned, anything else raises ``FetchError``."""
    headers = {"Accept": "application/json, application/jwk-set+json", "User-Agent": USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    opener = _DIRECT if is_loopback(urlsplit(url).hostname or "") else _OPENER
    deadline = time.monotonic() + timeout
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=timeout) as response:  # noqa: S310 - scheme checked in settings
            return Response(response.status, response.headers, _read(response, max_bytes, deadline))
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Response(304, exc.headers, b"")
        reason = "redirect_refused" if 300 <= exc.code < 400 else "http_status"
        raise FetchError(reason, str(exc.code)) from None
    except TimeoutError as exc:
        raise FetchError("timeout", "no answer in time") from exc
    except urllib.error.URLError as exc:
        reason = "timeout" if isinstance(exc.reason, TimeoutError) else "unreachable"
        if isinstance(exc.reason, ssl.SSLError):
            reason = "tls_error"
        raise FetchError(reason, str(exc.reason)) from exc
    except (OSError, ValueError) as exc:  # connection reset mid-body, bad status line, ...
        raise FetchError("unreachable", type(exc).__name__) from exc
