"""Per-request cost in process: bare apps, our middleware, raw jwt.decode, the alternatives."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from jwt_middleware import JWTMiddleware, JWTWSGIMiddleware

from .timing import async_batch, median_us, sync_batch

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


def measure(results: dict[str, float], name: str, run: Callable[[int], float]) -> None:
    results[name] = median_us(run)
    print(f"  {name:<52} {results[name]:9.2f} µs", flush=True)


def run(keys: Keys) -> dict[str, float]:
    r: dict[str, float] = {}
    tokens = {alg: keys.tokens(alg, N_TOKENS) for alg in ("HS256", "RS256", "ES256", "EdDSA")}
    warm_scope = {alg: scope_for(t[0]) for alg, t in tokens.items()}
    measure(r, "bare ASGI app", async_batch(lambda s: bare_asgi(s, _receive, _send), [scope_for(None)]))
    measure(r, "bare WSGI app", sync_batch(lambda e: bare_wsgi(e, _start_response), [environ_for(None)]))
    for alg, alg_tokens in tokens.items():
        # Cold: the tokens cycle in order through a cache that holds half of them, so every
        # request misses, verifies in full, and pays for the insert and an eviction too.
        cold_settings = keys.settings(alg, token_cache_size=N_TOKENS // 2)
        asgi, wsgi = JWTMiddleware(bare_asgi, settings=cold_settings), JWTWSGIMiddleware(bare_wsgi, settings=cold_settings)
        cold = [scope_for(t) for t in alg_tokens]
        measure(r, f"ASGI {alg} cold (new token each time)", async_batch(lambda s, a=asgi: a(s, _receive, _send), cold))
        measure(r, f"ASGI {alg} warm (same token)", async_batch(lambda s, a=asgi: a(s, _receive, _send), [warm_scope[alg]]))
        cold_env = [environ_for(t) for t in alg_tokens]
        measure(r, f"WSGI {alg} cold", sync_batch(lambda e, w=wsgi: w(e, _start_response), cold_env))
        measure(r, f"WSGI {alg} warm", sync_batch(lambda e, w=wsgi: w(e, _start_response), [environ_for(alg_tokens[0])]))
        key = keys.public[alg]
        measure(r, f"raw jwt.decode {alg}", sync_batch(lambda t, k=key, a=alg: jwt.decode(t, k, algorithms=[a]), alg_tokens))
    _primitives(r, keys, tokens)
    asgi = JWTMiddleware(bare_asgi, settings=keys.settings("RS256"))
    measure(r, "ASGI excluded path", async_batch(lambda s: asgi(s, _receive, _send), [scope_for(None, "/health")]))
    garbage = [scope_for(g) for g in ("garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "x" * 300)]
    measure(r, "ASGI garbage token refused", async_batch(lambda s: asgi(s, _receive, _send), garbage))
    wsgi = JWTWSGIMiddleware(bare_wsgi, settings=keys.settings("RS256"))
    measure(r, "WSGI excluded path", sync_batch(lambda e: wsgi(e, _start_response), [environ_for(None, "/health")]))
    measure(r, "WSGI garbage token refused", sync_batch(lambda e: wsgi(e, _start_response), [environ_for("a.b.c")]))
    return r


def _primitives(r: dict[str, float], keys: Keys, tokens: dict[str, list[str]]) -> None:
    import hashlib
    import hmac

    token = tokens["RS256"][0]
    signing_input, sig = token.rsplit(".", 1)
    raw_sig = jwt.utils.base64url_decode(sig)
    public = keys.rsa.public_key()
    msg = signing_input.encode()
    measure(
        r,
        "cryptography RSA verify alone (RS256)",
        sync_batch(lambda _: public.verify(raw_sig, msg, padding.PKCS1v15(), hashes.SHA256()), [0]),
    )
    secret = SECRET.encode()
    measure(r, "one HMAC alone (HS256)", sync_batch(lambda m: hmac.new(secret, m, hashlib.sha256).digest(), [msg]))


def alternatives(keys: Keys) -> dict[str, float]:
    """What a user would otherwise pick, for the same RS256 token repeated."""
    r: dict[str, float] = {}
    token = keys.tokens("RS256", 1)[0]
    public = keys.rsa.public_key()
    r.update(_starlette(token, public))
    r.update(_flask(token, keys))
    return r


def _starlette(token: str, public: Any) -> dict[str, float]:
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
    r: dict[str, float] = {}
    for name, app in (
        ("Starlette bare", bare),
        ("Starlette + JWTMiddleware", ours),
        ("Starlette + AuthenticationMiddleware(PyJWT)", theirs),
    ):
        measure(
            r,
            name,
            async_batch(lambda s, a=app: a(dict(s, type="http", scheme="http", server=("x", 80)), _receive, _send), [scope]),
        )
    return r


def _flask(token: str, keys: Keys) -> dict[str, float]:
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

    r: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        measure(r, "Flask + JWTWSGIMiddleware", sync_batch(call(ours.wsgi_app), [0]))
        measure(r, "Flask + flask-jwt-extended", sync_batch(call(theirs.wsgi_app), [0]))
    return r
