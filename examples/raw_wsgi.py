"""A raw WSGI app behind JWTWSGIMiddleware, with a public health check.

python -m examples.raw_wsgi     (reads JWT_SECRET from the environment)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from jwt_middleware import JWTWSGIMiddleware, get_claims


def api(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    claims = get_claims(environ)
    body = json.dumps(
        {"path": environ["PATH_INFO"], "sub": claims and claims.get("sub"), "remote_user": environ.get("REMOTE_USER")}
    )
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body.encode()]


def build_app(settings: Mapping[str, Any]) -> JWTWSGIMiddleware:
    return JWTWSGIMiddleware(api, settings={"exclude_paths": ["/health"], **settings})


if __name__ == "__main__":
    from wsgiref.simple_server import make_server

    app = build_app({"algorithms": ["HS256"], "secret": os.environ["JWT_SECRET"]})
    with make_server("127.0.0.1", 8001, app) as server:
        print("serving on http://127.0.0.1:8001")
        server.serve_forever()
