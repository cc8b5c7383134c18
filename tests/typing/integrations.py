"""Type-checked by ``make typecheck`` (mypy --strict), never run: the documented ways to
install the middleware must type-check in a user's strictly typed project.

Starlette and FastAPI type ``add_middleware`` and ``Middleware`` (Litestar, ``DefineMiddleware``) against their own ASGI
types (``MutableMapping`` scopes); asgiref and uvicorn use ``TypedDict`` scopes. Both
must accept ours.
"""

from __future__ import annotations

from typing import Any

import flask
import uvicorn
from asgiref.typing import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from fastapi import FastAPI
from litestar import Litestar
from litestar.middleware import DefineMiddleware
from starlette.applications import Starlette
from starlette.middleware import Middleware

from jwt_middleware import JWTMiddleware, JWTWSGIMiddleware

SETTINGS: dict[str, Any] = {"algorithms": ["HS256"], "secret": "x" * 32}

starlette_app = Starlette(middleware=[Middleware(JWTMiddleware, settings=SETTINGS)])
starlette_app.add_middleware(JWTMiddleware, settings=SETTINGS)

fastapi_app = FastAPI()
fastapi_app.add_middleware(JWTMiddleware, settings=SETTINGS, optional=True)

litestar_app = Litestar(route_handlers=[], middleware=[DefineMiddleware(JWTMiddleware, settings=SETTINGS)])


async def raw_app(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    return None


typed: ASGI3Application = JWTMiddleware(raw_app, settings=SETTINGS)
config = uvicorn.Config(JWTMiddleware(starlette_app, **SETTINGS))

flask_app = flask.Flask(__name__)
flask_app.wsgi_app = JWTWSGIMiddleware(flask_app.wsgi_app, settings=SETTINGS)  # type: ignore[method-assign]
