"""``make demo``: an auth service, a protected API and a browser page on one origin.

Open the printed URL to log in, call the API, watch the access token refresh silently and
log out; HttpOnly cookies and CSRF protection included. The terminal also shows curl
commands, each with the status it should answer. The API finds the auth service's keys by
OIDC discovery, as a separate service would.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import uvicorn

HOST = "127.0.0.1"
PORT = int(os.environ.get("DEMO_PORT", "8000"))
JSON = "-H 'Content-Type: application/json'"
PAGE = (Path(__file__).parent / "demo_page.html").read_bytes()


def one_origin(auth_app: Any, api_app: Any) -> Any:
    """``/`` is the page, ``/api/*`` and ``/health`` the API, everything else the auth service."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path == "/":
            headers = [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": PAGE})
        elif path.startswith("/api/") or path == "/health":
            await api_app(scope, receive, send)
        else:
            await auth_app(scope, receive, send)

    return app


def main() -> None:
    base = f"http://{HOST}:{PORT}"
    os.environ["AUTH_ISSUER"] = base
    os.environ.setdefault("AUTH_ACCESS_TTL", "60")  # short, so the silent refresh shows
    os.environ.pop("REDIS_URL", None)  # the demo keeps its state in memory
    auth = importlib.import_module("examples.auth_service")
    resource = importlib.import_module("examples.resource_service")
    app = one_origin(auth.app, resource.build_app(revocation=auth.revocation))

    token = auth.issuer.issue("alice", scope="notes:read notes:write", ttl=3600)
    expired = auth.issuer.issue("alice", ttl=-60)
    stolen = auth.tokens.login("alice", scope="notes:read notes:write")
    rotating = auth.tokens.refresh(stolen.refresh_token)  # the client has rotated once; a thief kept the first token
    leaving = auth.tokens.login("alice", scope="notes:read")
    login_body = json.dumps({"username": "alice", "password": "wonderland"})
    print(
        f"""
jwt_middleware demo: an auth service and a protected API on {base}
Open {base}/ in a browser: log in as alice / wonderland (or bob / builder).

  a valid access token (1 hour):  {token}

  curl -i -H 'Authorization: Bearer {token}' {base}/api/me   # expect 200
  curl -i {base}/api/me   # expect 401
  curl -i -H 'Authorization: Bearer {expired}' {base}/api/me   # expect 401
  curl -i {base}/health   # expect 200
  curl -i -X POST {JSON} -d '{login_body}' {base}/auth/login   # expect 200
  curl -i -X POST {JSON} -d '{{"refresh_token": "{rotating.refresh_token}"}}' {base}/auth/refresh   # expect 200
  curl -i -X POST {JSON} -d '{{"refresh_token": "{stolen.refresh_token}"}}' {base}/auth/refresh   # expect 401
  curl -i -X POST -H 'Authorization: Bearer {leaving.access_token}' {JSON} -d '{{"refresh_token": "{leaving.refresh_token}"}}' {base}/auth/logout   # expect 204
  curl -i -H 'Authorization: Bearer {leaving.access_token}' {base}/api/me   # expect 401

(The second refresh presents a token two rotations old, as a thief would: the whole family
is revoked. The token rotated away last may come back within reuse_grace_seconds, as a
client retrying a refresh whose answer it lost. The logout revokes the refresh family and
the access token at once.)

Serving on {base}  (Ctrl-C to stop)
""",
        flush=True,
    )
    if "--check" in sys.argv:
        return
    uvicorn.run(app, host=HOST, port=PORT, log_level="warning")


if __name__ == "__main__":
    main()
