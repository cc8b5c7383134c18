"""Per-request cost in process: bare apps, our middleware, raw jwt.decode, the alternatives."""

from __future__ import annotations

import json
import random
import time
import warnings
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from jwt_middleware import JWTMiddleware, JWTWSGIMiddleware

from .timing import async_batch, interleaved, sync_batch

SECRET = "benchmark-secret-benchmark-secret-0123456789"
N_TOKENS = 2000
OK_BODY = json.dumps({"ok": True}).encode()


async def bare_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": OK_BODY})


def bare_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [OK_BODY]


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: dict[str, Any]) -> None:
    return None


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    return None


def scope_for(token: str | None, path: str = "/api") -> dict[str, Any]:
    headers = [(b"host", b"api.example"), (b"user-agent", b"bench/1.0"), (b"accept", b"application/json")]
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": headers}


def environ_for(token: str | None, path: str = "/api") -> dict[str, Any]:
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "", "HTTP_HOST": "api.example"}
    if token is not None:
        env["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return env


class Keys:
    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.ed = ed25519.Ed25519PrivateKey.generate()
        self.signing = {"HS256": SECRET, "RS256": self.rsa, "ES256": self.ec, "EdDSA": self.ed}
        self.public = {
            "HS256": SECRET,
            "RS256": self.rsa.public_key(),
            "ES256": self.ec.public_key(),
            "EdDSA": self.ed.public_key(),
        }

    def tokens(self, alg: str, n: int) -> list[str]:
        now = int(time.time())
        key = self.signing[alg]
        return [
            jwt.encode(
                {"sub": f"user{i}", "iat": now, "exp": now + 3600, "scope": "read write", "jti": str(i)}, key, algorithm=alg
            )
            for i in range(n)
        ]

    def settings(self, alg: str, **extra: Any) -> dict[str, Any]:
        if alg == "HS256":
            return {"algorithms": ["HS256"], "secret": SECRET, "exclude_paths": ["/health"], **extra}
        return {"algorithms": [alg], "keys": [self.public[alg]], "exclude_paths": ["/health"], **extra}


async def _pass_through_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The cheapest possible ASGI middleware: the floor under any real one."""
    await bare_asgi(scope, receive, send)


def _pass_through_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    return bare_wsgi(environ, start_response)


def _junk(n: int) -> list[str]:
    """Attack traffic that never repeats: random segments, random lengths, some without dots."""
    rng = random.Random(7)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

    def segment() -> str:
        return "".join(rng.choices(alphabet, k=rng.randint(4, 60)))

    return [segment() if i % 3 == 0 else ".".join(segment() for _ in range(3)) for i in range(n)]


def run(keys: Keys) -> dict[str, float]:
    """Every in-process case, sampled in turn (``interleaved``), so that ratios are fair."""
    cases: dict[str, Callable[[int], float]] = {}
    tokens = {alg: keys.tokens(alg, N_TOKENS) for alg in ("HS256", "RS256", "ES256", "EdDSA")}
    cases["bare ASGI app"] = async_batch(lambda s: bare_asgi(s, _receive, _send), [scope_for(None)])
    cases["bare WSGI app"] = sync_batch(lambda e: bare_wsgi(e, _start_response), [environ_for(None)])
    cases["empty pass-through ASGI middleware"] = async_batch(lambda s: _pass_through_asgi(s, _receive, _send), [scope_for(None)])
    cases["empty pass-through WSGI middleware"] = sync_batch(
        lambda e: _pass_through_wsgi(e, _start_response), [environ_for(None)]
    )
    for alg, alg_tokens in tokens.items():
        # Cold: the tokens cycle in order through a cache that holds half of them, so every
        # request misses, verifies in full, and pays for the insert and an eviction too.
        cold_settings = keys.settings(alg, token_cache_size=N_TOKENS // 2)
        asgi, wsgi = JWTMiddleware(bare_asgi, settings=cold_settings), JWTWSGIMiddleware(bare_wsgi, settings=cold_settings)
        cold = [scope_for(t) for t in alg_tokens]
        cases[f"ASGI {alg} cold (new token each time)"] = async_batch(lambda s, a=asgi: a(s, _receive, _send), cold)
        cases[f"ASGI {alg} warm (same token)"] = async_batch(lambda s, a=asgi: a(s, _receive, _send), [scope_for(alg_tokens[0])])
        cold_env = [environ_for(t) for t in alg_tokens]
        cases[f"WSGI {alg} cold"] = sync_batch(lambda e, w=wsgi: w(e, _start_response), cold_env)
        cases[f"WSGI {alg} warm"] = sync_batch(lambda e, w=wsgi: w(e, _start_response), [environ_for(alg_tokens[0])])
        key = keys.public[alg]
        cases[f"raw jwt.decode {alg}"] = sync_batch(lambda t, k=key, a=alg: jwt.decode(t, k, algorithms=[a]), alg_tokens)
    cases.update(_primitives(keys, tokens))
    asgi = JWTMiddleware(bare_asgi, settings=keys.settings("RS256"))
    wsgi = JWTWSGIMiddleware(bare_wsgi, settings=keys.settings("RS256"))
    garbage = ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "x" * 300]
    junk = _junk(N_TOKENS)
    cases["ASGI excluded path"] = async_batch(lambda s: asgi(s, _receive, _send), [scope_for(None, "/health")])
    cases["ASGI garbage token refused"] = async_batch(lambda s: asgi(s, _receive, _send), [scope_for(g) for g in garbage])
    cases["ASGI junk refused, never the same twice"] = async_batch(
        lambda s: asgi(s, _receive, _send), [scope_for(j) for j in junk]
    )
    cases["WSGI excluded path"] = sync_batch(lambda e: wsgi(e, _start_response), [environ_for(None, "/health")])
    cases["WSGI garbage token refused"] = sync_batch(lambda e: wsgi(e, _start_response), [environ_for(g) for g in garbage])
    cases["WSGI junk refused, never the same twice"] = sync_batch(
        lambda e: wsgi(e, _start_response), [environ_for(j) for j in junk]
    )
    results = interleaved(cases)
    for name, value in results.items():
        print(f"  {name:<52} {value:9.2f} µs", flush=True)
    return results


def _primitives(keys: Keys, tokens: dict[str, list[str]]) -> dict[str, Callable[[int], float]]:
    import hashlib
    import hmac

    token = tokens["RS256"][0]
    signing_input, sig = token.rsplit(".", 1)
    raw_sig = jwt.utils.base64url_decode(sig)
    public = keys.rsa.public_key()
    msg = signing_input.encode()
    secret = SECRET.encode()
    return {
        "cryptography RSA verify alone (RS256)": sync_batch(
            lambda _: public.verify(raw_sig, msg, padding.PKCS1v15(), hashes.SHA256()), [0]
        ),
        "one HMAC alone (HS256)": sync_batch(lambda m: hmac.new(secret, m, hashlib.sha256).digest(), [msg]),
    }


def alternatives(keys: Keys) -> dict[str, float]:
    """What a user would otherwise pick, for the same RS256 token repeated."""
    token = keys.tokens("RS256", 1)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = {**_starlette(token, keys.rsa.public_key()), **_flask(token, keys)}
        results = interleaved(cases, batch=200)
    for name, value in results.items():
        print(f"  {name:<52} {value:9.2f} µs", flush=True)
    return results


def _starlette(token: str, public: Any) -> dict[str, Callable[[int], float]]:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.authentication import AuthenticationMiddleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from .http_apps import PyJWTBackend

    async def me(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.user.display_name})

    routes = [Route("/api", me)]
    theirs = Starlette(routes=routes, middleware=[Middleware(AuthenticationMiddleware, backend=PyJWTBackend(public))])
    ours = Starlette(routes=routes, middleware=[Middleware(JWTMiddleware, settings={"algorithms": ["RS256"], "keys": [public]})])

    async def anonymous(request: Request) -> JSONResponse:
        return JSONResponse({"sub": "anonymous"})

    bare = Starlette(routes=[Route("/api", anonymous)])
    scope = scope_for(token)
    return {
        name: async_batch(lambda s, a=app: a(dict(s, type="http", scheme="http", server=("x", 80)), _receive, _send), [scope])
        for name, app in (
            ("Starlette bare", bare),
            ("Starlette + JWTMiddleware", ours),
            ("Starlette + AuthenticationMiddleware(PyJWT)", theirs),
        )
    }


def _flask(token: str, keys: Keys) -> dict[str, Callable[[int], float]]:
    import flask
    from flask_jwt_extended import JWTManager, get_jwt, jwt_required

    from jwt_middleware import get_claims

    pem = keys.rsa.public_key().public_bytes(
        encoding=__import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.PEM,
        format=__import__(
            "cryptography.hazmat.primitives.serialization", fromlist=["PublicFormat"]
        ).PublicFormat.SubjectPublicKeyInfo,
    )
    theirs = flask.Flask("theirs")
    theirs.config.update(JWT_ALGORITHM="RS256", JWT_PUBLIC_KEY=pem, JWT_PRIVATE_KEY="unused", JWT_DECODE_ALGORITHMS=["RS256"])
    JWTManager(theirs)

    @theirs.get("/api")
    @jwt_required()
    def theirs_view() -> Any:
        return {"sub": get_jwt()["sub"]}

    ours = flask.Flask("ours")

    @ours.get("/api")
    def ours_view() -> Any:
        return {"sub": get_claims(flask.request)["sub"]}  # type: ignore[index]

    ours.wsgi_app = JWTWSGIMiddleware(ours.wsgi_app, settings={"algorithms": ["RS256"], "keys": [pem.decode()]})  # type: ignore[method-assign]
    import io

    def call(app: Any) -> Callable[[Any], object]:
        def one(_: Any) -> object:
            env = environ_for(token)
            env.update({"wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http", "SERVER_NAME": "x", "SERVER_PORT": "80"})
            status: list[str] = []
            body = b"".join(app(env, lambda s, h, e=None: status.append(s)))
            if not status[0].startswith("200"):
                raise RuntimeError(f"{status[0]}: {body!r}")
            return body

        return one

    return {
        "Flask + JWTWSGIMiddleware": sync_batch(call(ours.wsgi_app), [0]),
        "Flask + flask-jwt-extended": sync_batch(call(theirs.wsgi_app), [0]),
    }
