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

from jwt_middleware.testing import DPoPKey

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
        elif path.startswith(("/api/", "/.well-known/oauth-protected-resource")) or path == "/health":
            await api_app(scope, receive, send)
        else:
            await auth_app(scope, receive, send)

    return app


def main() -> None:
    base = f"http://{HOST}:{PORT}"
    os.environ["AUTH_ISSUER"] = os.environ["RESOURCE_URL"] = base
    os.environ.setdefault("AUTH_ACCESS_TTL", "60")  # short, so the silent refresh shows
    os.environ.pop("REDIS_URL", None)  # the demo keeps its state in memory
    auth = importlib.import_module("examples.auth_service")
    resource = importlib.import_module("examples.resource_service")
    # Proofs are good for 60 s by default; the demo's API takes them for an hour, so that the
    # printed DPoP commands still work when you get to them.
    app = one_origin(auth.app, resource.build_app(revocation=auth.revocation, dpop_max_age_seconds=3600))

    token = auth.issuer.issue("alice", scope="notes:read notes:write", ttl=3600)
    expired = auth.issuer.issue("alice", ttl=-60)
    stolen = auth.tokens.login("alice", scope="notes:read notes:write")
    rotating = auth.tokens.refresh(stolen.refresh_token)  # the client has rotated once; a thief kept the first token
    leaving = auth.tokens.login("alice", scope="notes:read")
    key = DPoPKey()  # the client's key; a DPoP-bound token is worthless without it
    bound = auth.issuer.issue("alice", scope="notes:read", ttl=3600, dpop_jkt=key.jkt)
    me_proof = key.proof("GET", f"{base}/api/me", bound)
    token_proof = key.proof("POST", f"{base}/auth/token")
    login_form = "grant_type=password&username=alice&password=wonderland"
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

DPoP (RFC 9449): a token bound to the client's key, and a proof of that key for one request.

  curl -i -X POST -H 'DPoP: {token_proof}' -d '{login_form}' {base}/auth/token   # expect 200
  curl -i -H 'Authorization: DPoP {bound}' -H 'DPoP: {me_proof}' {base}/api/me   # expect 200
  curl -i -H 'Authorization: DPoP {bound}' -H 'DPoP: {me_proof}' {base}/api/me   # expect 401
  curl -i -H 'Authorization: Bearer {bound}' {base}/api/me   # expect 401
  curl -i {base}/.well-known/oauth-protected-resource   # expect 200

(The token endpoint answers token_type "DPoP": its tokens carry cnf.jkt, the key's
thumbprint. The same proof twice is a replay; the bound token as a Bearer token is refused:
a copied token is useless without the key. The last URL is the API's RFC 9728 metadata.)

Serving on {base}  (Ctrl-C to stop)
""",
        flush=True,
    )
    if "--check" in sys.argv:
        return
    uvicorn.run(app, host=HOST, port=PORT, log_level="warning")


if __name__ == "__main__":
    main()
