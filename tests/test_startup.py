"""A bad setting stops the server at start-up, whatever wiring the user chose (issue 22 item 15).

Starlette and FastAPI build their middleware on the first lifespan event or request; a
``ConfigError`` raised there used to be taken by uvicorn's default ``lifespan="auto"`` for
"lifespan unsupported", leaving a server that answered 500 to everything.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from servers import free_socket

from jwt_middleware import ConfigError, JWTMiddleware

ROOT = Path(__file__).resolve().parent.parent
TYPO = '{"algorithm": ["HS256"], "secret": "s" * 32}'  # "algorithm": a misspelt "algorithms"

WIRINGS = {
    "starlette-add_middleware": f"""
        from starlette.applications import Starlette
        app = Starlette()
        app.add_middleware(JWTMiddleware, settings={TYPO})
    """,
    "starlette-middleware-list": f"""
        from starlette.applications import Starlette
        from starlette.middleware import Middleware
        app = Starlette(middleware=[Middleware(JWTMiddleware, settings={TYPO})])
    """,
    "fastapi-add_middleware": f"""
        from fastapi import FastAPI
        app = FastAPI()
        app.add_middleware(JWTMiddleware, settings={TYPO})
    """,
}


@pytest.mark.parametrize("wiring", list(WIRINGS), ids=list(WIRINGS))
def test_a_typo_stops_uvicorn_at_startup_with_the_default_lifespan(tmp_path: Path, wiring: str) -> None:
    (tmp_path / "typo_app.py").write_text("from jwt_middleware import JWTMiddleware\n" + textwrap.dedent(WIRINGS[wiring]))
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-m", "uvicorn", "typo_app:app", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0, done.stderr
    assert "jwt_middleware: algorithm" in done.stderr and "algorithms" in done.stderr
    assert "Application startup failed" in done.stderr
    assert "Traceback" not in done.stderr


def test_built_by_hand_a_typo_still_raises_at_once() -> None:
    async def app(scope: object, receive: object, send: object) -> None:
        pass

    with pytest.raises(ConfigError, match="algorithms"):
        JWTMiddleware(app, settings={"algorithm": ["HS256"], "secret": "s" * 32})
