"""What a DPoP proof costs: a request with a cached bound token and a new proof each time,
against a Bearer request with a cached token, in process, side by side."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from jwt_middleware import JWTMiddleware, JWTWSGIMiddleware
from jwt_middleware.core.dpop import verify_proof
from jwt_middleware.testing import DPoPKey

from .inprocess import SECRET, bare_asgi, bare_wsgi, environ_for, scope_for
from .timing import async_batch, interleaved, sync_batch

BATCH, REPEAT = 500, 11
N_PROOFS = (BATCH // 10 + BATCH * REPEAT) + 10  # each case's warm-up and batches: no proof is ever used twice
URL = "http://api.example/api"


def _settings() -> dict[str, Any]:
    # An hour of proof age, so that proofs made before the run stay good however long it takes;
    # the checks, and what each costs, are the same as with the default 60 s.
    # The origin is the one the proofs name (the Host header never decides it).
    return {
        "algorithms": ["HS256"],
        "secret": SECRET,
        "dpop_max_age_seconds": 3600,
        "origin": "http://api.example",
        "jwks_allow_http": True,
    }


def _dpop_scope(token: str, proof: str) -> dict[str, Any]:
    scope = scope_for(None)
    scope["headers"] = [*scope["headers"], (b"authorization", f"DPoP {token}".encode()), (b"dpop", proof.encode())]
    return scope


def _dpop_environ(token: str, proof: str) -> dict[str, Any]:
    return {**environ_for(None), "HTTP_AUTHORIZATION": f"DPoP {token}", "HTTP_DPOP": proof}


def _status_of_asgi(app: Any, scope: dict[str, Any]) -> int:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(dict(scope), receive, send))
    return int(sent[0]["status"])


def _status_of_wsgi(app: Any, environ: dict[str, Any]) -> int:
    seen: list[str] = []
    app(dict(environ), lambda status, headers, exc_info=None: seen.append(status))
    return int(seen[0].split()[0])


def dpop_section() -> dict[str, float]:
    """Median µs per request for each case; checks first that every case answers what it should."""
    key = DPoPKey("ES256")
    bound = jwt.encode({"sub": "alice", "exp": 4_000_000_000, "cnf": {"jkt": key.jkt}}, SECRET, algorithm="HS256")
    plain = jwt.encode({"sub": "alice", "exp": 4_000_000_000}, SECRET, algorithm="HS256")
    proofs = {kind: [key.proof("GET", URL, bound) for _ in range(N_PROOFS)] for kind in ("asgi", "wsgi", "alone")}
    asgi, wsgi = JWTMiddleware(bare_asgi, settings=_settings()), JWTWSGIMiddleware(bare_wsgi, settings=_settings())
    warm_bearer = scope_for(plain)
    assert _status_of_asgi(asgi, warm_bearer) == 200
    assert _status_of_asgi(asgi, _dpop_scope(bound, key.proof("GET", URL, bound))) == 200
    assert _status_of_wsgi(wsgi, _dpop_environ(bound, key.proof("GET", URL, bound))) == 200
    replayed = _dpop_scope(bound, proofs["asgi"][0])
    public = key.private_key.public_key()
    head, body, sig = proofs["alone"][0].split(".")
    der = _der(jwt.utils.base64url_decode(sig))
    message = f"{head}.{body}".encode()
    cases: dict[str, Callable[[int], float]] = {
        "ASGI Bearer, cached token": async_batch(lambda s: asgi(s, _receive, _send), [warm_bearer]),
        "ASGI DPoP, cached token, new ES256 proof": async_batch(
            lambda s: asgi(s, _receive, _send), [_dpop_scope(bound, p) for p in proofs["asgi"]]
        ),
        "WSGI Bearer, cached token": sync_batch(lambda e: wsgi(e, _start_response), [environ_for(plain)]),
        "WSGI DPoP, cached token, new ES256 proof": sync_batch(
            lambda e: wsgi(e, _start_response), [_dpop_environ(bound, p) for p in proofs["wsgi"]]
        ),
        "verify_proof alone (no replay cache)": sync_batch(
            lambda p: verify_proof(p, method="GET", url=URL, access_token=bound, max_age=3600), proofs["alone"]
        ),
        "cryptography ECDSA P-256 verify alone": sync_batch(
            lambda _: public.verify(der, message, ec.ECDSA(hashes.SHA256())), [0]
        ),
    }
    results = interleaved(cases, batch=BATCH, repeat=REPEAT)
    for name, value in results.items():
        print(f"  {name:<52} {value:9.2f} µs", flush=True)
    assert _status_of_asgi(asgi, replayed) == 401, "every proof was spent once, and only once"
    return results


def _der(raw: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    half = len(raw) // 2
    return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


async def _send(message: dict[str, Any]) -> None:
    return None


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    return None


if __name__ == "__main__":
    dpop_section()
