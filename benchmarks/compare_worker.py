"""One side of ``make bench BASE=<ref>``: the comparison cases on one copy of the package.

``python -m benchmarks.compare_worker <package_root>`` puts ``<package_root>`` first on
``sys.path``, imports ``jwt_middleware`` from there (and checks that it did), then answers
the driver in ``benchmarks.compare`` one JSON line at a time on stdin/stdout:

- first line in: the shared material (an RSA public key, the tokens); out: the case names;
- then ``{"case": name, "n": calls}`` in, ``{"seconds": elapsed}`` out, until stdin closes.

The cases use only the public surface that every version shares: ``JWTMiddleware(app,
settings=...)``, ``JWTWSGIMiddleware(app, settings=...)`` and calling the ASGI or WSGI app.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from .timing import async_batch, sync_batch

CLOCKS = {"cpu": time.thread_time, "wall": time.perf_counter}
GARBAGE = ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "x" * 300]


def load_package(root: Path) -> Any:
    """Import ``jwt_middleware`` from ``root``, ahead of the editable install of the main checkout."""
    sys.path.insert(0, str(root))
    import jwt_middleware

    found = Path(jwt_middleware.__file__).resolve()
    if not found.is_relative_to(root.resolve()):
        raise RuntimeError(f"jwt_middleware came from {found}, not from {root}")
    return jwt_middleware


def cases(package: Any, material: dict[str, Any]) -> dict[str, Callable[[int], float]]:
    """The cases of issues 21 and 24, through both adapters; the bare apps are controls."""
    from .inprocess import _receive, _send, _start_response, bare_asgi, bare_wsgi, environ_for, scope_for

    rs256 = {"algorithms": ["RS256"], "keys": [material["public_pem"]], "exclude_paths": ["/health"]}
    hs256 = {"algorithms": ["HS256"], "secret": material["secret"], "exclude_paths": ["/health"]}
    # "Cold" tokens cycle through a cache that holds half of them, so every request verifies in full.
    cold_cache = {"token_cache_size": len(material["rs256"]) // 2}
    same_token = material["rs256"][0]
    clock = CLOCKS[material["clock"]]
    found: dict[str, Callable[[int], float]] = {}

    asgi, asgi_cold_rs, asgi_cold_hs = (
        package.JWTMiddleware(bare_asgi, settings=s) for s in (rs256, rs256 | cold_cache, hs256 | cold_cache)
    )

    def asgi_case(app: Any, scopes: list[dict[str, Any]]) -> Callable[[int], float]:
        return async_batch(lambda s: app(s, _receive, _send), scopes, clock)

    found["ASGI bare app (control, no middleware)"] = async_batch(
        lambda s: bare_asgi(s, _receive, _send), [scope_for(None)], clock
    )
    found["ASGI RS256, same token"] = asgi_case(asgi, [scope_for(same_token)])
    found["ASGI RS256, new token each time"] = asgi_case(asgi_cold_rs, [scope_for(t) for t in material["rs256"]])
    found["ASGI HS256, new token each time"] = asgi_case(asgi_cold_hs, [scope_for(t) for t in material["hs256"]])
    found["ASGI excluded path"] = asgi_case(asgi, [scope_for(None, "/health")])
    found["ASGI garbage token refused"] = asgi_case(asgi, [scope_for(g) for g in GARBAGE])

    wsgi, wsgi_cold_rs, wsgi_cold_hs = (
        package.JWTWSGIMiddleware(bare_wsgi, settings=s) for s in (rs256, rs256 | cold_cache, hs256 | cold_cache)
    )

    def wsgi_case(app: Any, environs: list[dict[str, Any]]) -> Callable[[int], float]:
        return sync_batch(lambda e: app(e, _start_response), environs, clock)

    found["WSGI bare app (control, no middleware)"] = sync_batch(
        lambda e: bare_wsgi(e, _start_response), [environ_for(None)], clock
    )
    found["WSGI RS256, same token"] = wsgi_case(wsgi, [environ_for(same_token)])
    found["WSGI RS256, new token each time"] = wsgi_case(wsgi_cold_rs, [environ_for(t) for t in material["rs256"]])
    found["WSGI HS256, new token each time"] = wsgi_case(wsgi_cold_hs, [environ_for(t) for t in material["hs256"]])
    found["WSGI excluded path"] = wsgi_case(wsgi, [environ_for(None, "/health")])
    found["WSGI garbage token refused"] = wsgi_case(wsgi, [environ_for(g) for g in GARBAGE])
    return found


def serve(package: Any, requests: TextIO, replies: TextIO) -> None:
    def reply(message: dict[str, Any]) -> None:
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    runs = cases(package, json.loads(requests.readline()))
    reply({"cases": list(runs), "package": package.__file__})
    gc.collect()
    gc.disable()  # as in timing.interleaved: no collection lands inside one side's batch only
    for line in requests:
        request = json.loads(line)
        reply({"seconds": runs[request["case"]](request["n"])})


def main() -> None:
    import logging

    logging.getLogger("jwt_middleware").setLevel(logging.WARNING)
    package = load_package(Path(sys.argv[1]))
    replies, sys.stdout = sys.stdout, sys.stderr  # only the protocol goes to the driver
    serve(package, sys.stdin, replies)


if __name__ == "__main__":
    main()
