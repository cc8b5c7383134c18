"""``make demo``: a protected API on 127.0.0.1 with a key made on the spot.

It prints a valid token, an expired one, and the curl commands that show 200, 401 and
401-expired, then serves until Ctrl-C.
"""

from __future__ import annotations

import os
import secrets
import sys
import time

import jwt
import uvicorn

from examples.raw_asgi import build_app

HOST, PORT = "127.0.0.1", int(os.environ.get("DEMO_PORT", "8000"))


def main() -> None:
    secret = secrets.token_urlsafe(48)
    now = int(time.time())
    good = jwt.encode({"sub": "alice", "scope": "read", "iat": now, "exp": now + 3600}, secret, algorithm="HS256")
    expired = jwt.encode({"sub": "alice", "iat": now - 7200, "exp": now - 3600}, secret, algorithm="HS256")
    base = f"http://{HOST}:{PORT}"
    print(
        f"""
jwt_middleware demo: a raw ASGI app behind JWTMiddleware (HS256, a fresh secret)

  valid token (1 hour):  {good}

  200, the claims reach the app:
    curl -i -H 'Authorization: Bearer {good}' {base}/hello
  401, no token (bare challenge):
    curl -i {base}/hello
  401, expired token (error="invalid_token"):
    curl -i -H 'Authorization: Bearer {expired}' {base}/hello
  200, public path:
    curl -i {base}/health

Serving on {base}  (Ctrl-C to stop)
""",
        flush=True,
    )
    if "--check" in sys.argv:
        return
    uvicorn.run(build_app({"algorithms": ["HS256"], "secret": secret}), host=HOST, port=PORT, log_level="warning")


if __name__ == "__main__":
    main()
