"""``make demo``: an auth service and a resource service on 127.0.0.1, with their own keys.

The auth service (port 8000) logs users in, rotates refresh tokens, logs out and publishes
its JWKS; the resource service (port 8001) finds the keys through OIDC discovery. The
terminal shows curl commands, each with the status it should answer.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
import time

import uvicorn

HOST = "127.0.0.1"
AUTH_PORT = int(os.environ.get("DEMO_PORT", "8000"))
API_PORT = int(os.environ.get("DEMO_API_PORT", str(AUTH_PORT + 1)))
JSON = "-H 'Content-Type: application/json'"


def main() -> None:
    os.environ["AUTH_ISSUER"] = f"http://{HOST}:{AUTH_PORT}"
    os.environ.pop("REDIS_URL", None)  # the demo keeps its state in memory
    auth = importlib.import_module("examples.auth_service")
    resource = importlib.import_module("examples.resource_service")
    api_app = resource.build_app(revocation=auth.revocation)

    token = auth.issuer.issue("alice", scope="notes:read notes:write", ttl=3600)
    expired = auth.issuer.issue("alice", ttl=-60)
    rotating = auth.tokens.login("alice", scope="notes:read notes:write")
    leaving = auth.tokens.login("alice", scope="notes:read")
    auth_url, api_url = f"http://{HOST}:{AUTH_PORT}", f"http://{HOST}:{API_PORT}"
    login_body = json.dumps({"username": "alice", "password": "wonderland"})
    print(
        f"""
jwt_middleware demo: an auth service ({auth_url}) and a resource service ({api_url})
that finds the auth service's keys by OIDC discovery. Users: alice / wonderland, bob / builder.

  a valid access token (1 hour):  {token}

  curl -i -H 'Authorization: Bearer {token}' {api_url}/api/me   # expect 200
  curl -i {api_url}/api/me   # expect 401
  curl -i -H 'Authorization: Bearer {expired}' {api_url}/api/me   # expect 401
  curl -i {api_url}/health   # expect 200
  curl -i -X POST {JSON} -d '{login_body}' {auth_url}/auth/login   # expect 200
  curl -i -X POST {JSON} -d '{{"refresh_token": "{rotating.refresh_token}"}}' {auth_url}/auth/refresh   # expect 200
  curl -i -X POST {JSON} -d '{{"refresh_token": "{rotating.refresh_token}"}}' {auth_url}/auth/refresh   # expect 401
  curl -i -X POST -H 'Authorization: Bearer {leaving.access_token}' {JSON} -d '{{"refresh_token": "{leaving.refresh_token}"}}' {auth_url}/auth/logout   # expect 204
  curl -i -H 'Authorization: Bearer {leaving.access_token}' {api_url}/api/me   # expect 401

(The second refresh reuses a rotated token: the whole family is revoked. The logout revokes
the refresh family and the access token at once.)

Serving on {auth_url} and {api_url}  (Ctrl-C to stop)
""",
        flush=True,
    )
    if "--check" in sys.argv:
        return
    asyncio.run(_serve(auth.app, api_app))


async def _serve(auth_app: object, api_app: object) -> None:
    servers = [
        uvicorn.Server(uvicorn.Config(auth_app, host=HOST, port=AUTH_PORT, log_level="warning")),
        uvicorn.Server(uvicorn.Config(api_app, host=HOST, port=API_PORT, log_level="warning")),
    ]
    started = time.monotonic()
    await asyncio.gather(*(s.serve() for s in servers))
    print(f"stopped after {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
