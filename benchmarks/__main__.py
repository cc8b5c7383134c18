"""``make bench``: every figure measured side by side in this one run, with its ratio."""

from __future__ import annotations

import argparse
import logging
import os
import platform

from . import compare, dpop_cost, http_load, inprocess, mirror_memory, redis_load


def ratio(label: str, value: float, target: float) -> None:
    verdict = "ok" if value <= target else "OVER"
    print(f"  {label:<64} {value:6.3f}  (target <= {target:g})  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--base", metavar="REF", help="compare the working tree against this git ref (benchmarks/compare.py)")
    parser.add_argument("--rounds", type=int, default=15, help="rounds of the comparison (default 15)")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu", help="what the comparison times by (default cpu)")
    args = parser.parse_args()
    logging.getLogger("jwt_middleware").setLevel(logging.WARNING)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")
    if args.base:
        compare.compare(args.base, rounds=args.rounds, clock=args.clock)
        return
    keys = inprocess.Keys()
    print("\nper request, in process (median µs):")
    r = inprocess.run(keys)
    print("\nalternatives, same RS256 token repeated (median µs):")
    alt = inprocess.alternatives(keys)
    print("\nDPoP, in process: a cached token with a new proof each time (median µs):")
    dp = dpop_cost.dpop_section()
    print("\nover HTTP on loopback (uvicorn in its own process, the load from this one):")
    http = http_load.http_section()
    print("\nover HTTP on loopback, WSGI (werkzeug's threaded server in its own process, the load from this one):")
    http_load.wsgi_section()
    print("\nrevocation through Redis (uvicorn, a real redis-server on loopback):")
    rev = redis_load.redis_section()
    mirror_bytes = mirror_memory.memory_section()
    print("\nJWKS:")
    http_load.jwks_section()
    print("\nratios:")
    ratio(
        "ASGI RS256 cold / (RSA verify alone + bare app)",
        r["ASGI RS256 cold (new token each time)"] / (r["cryptography RSA verify alone (RS256)"] + r["bare ASGI app"]),
        1.5,
    )
    ratio("ASGI HS256 cold / raw jwt.decode HS256", r["ASGI HS256 cold (new token each time)"] / r["raw jwt.decode HS256"], 0.25)
    ratio("ASGI RS256 warm / raw jwt.decode RS256", r["ASGI RS256 warm (same token)"] / r["raw jwt.decode RS256"], 0.1)
    ratio("ASGI excluded path / bare ASGI app", r["ASGI excluded path"] / r["bare ASGI app"], 1.2)
    ratio("ASGI garbage token refused / bare ASGI app", r["ASGI garbage token refused"] / r["bare ASGI app"], 2.5)
    ratio("WSGI excluded path / bare WSGI app", r["WSGI excluded path"] / r["bare WSGI app"], 1.2)
    ratio("WSGI garbage token refused / bare WSGI app", r["WSGI garbage token refused"] / r["bare WSGI app"], 2.5)
    ratio(
        "Starlette: ours / AuthenticationMiddleware(PyJWT)",
        alt["Starlette + JWTMiddleware"] / alt["Starlette + AuthenticationMiddleware(PyJWT)"],
        0.5,
    )
    ratio("Flask: ours / flask-jwt-extended", alt["Flask + JWTWSGIMiddleware"] / alt["Flask + flask-jwt-extended"], 0.5)
    ratio("uvicorn req/s: AuthenticationMiddleware(PyJWT) / ours (so >= 2x is <= 0.5)", http["theirs"] / http["ours"], 0.5)
    ratio("uvicorn req/s: bare / ours (what the middleware costs)", http["bare"] / http["ours"], 1.25)
    ratio("uvicorn req/s: memory revocation / Redis revocation (so >= 0.9x is <= 1.11)", rev["memory"] / rev["redis"], 1 / 0.9)
    floor = dp["cryptography ECDSA P-256 verify alone"]
    for adapter in ("ASGI", "WSGI"):
        ratio(
            f"{adapter} DPoP request / (its Bearer request + one ECDSA verify)",
            dp[f"{adapter} DPoP, cached token, new ES256 proof"] / (dp[f"{adapter} Bearer, cached token"] + floor),
            1.5,
        )
    ratio("revocation propagation p99, seconds (another process, loopback)", rev["p99"], 0.1)
    ratio("revocation mirror, bytes per entry (tracemalloc)", mirror_bytes, 150)


if __name__ == "__main__":
    main()
