"""`make demo` prints working instructions: run it and follow them against the server it starts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from servers import free_socket

ROOT = Path(__file__).resolve().parent.parent


def test_demo_prints_tokens_and_curl_commands_that_do_what_they_say() -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "DEMO_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "examples.demo"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        lines: list[str] = []
        assert proc.stdout is not None
        while not any(line.startswith("Serving on") for line in lines):
            line = proc.stdout.readline()
            assert line, "demo exited early"
            lines.append(line.strip())
        commands = [line for line in lines if line.startswith("curl")]
        assert len(commands) == 4
        deadline = time.monotonic() + 10
        results = []
        for command in commands:
            headers = dict(h.split(": ", 1) for h in re.findall(r"-H '([^']+)'", command))
            url = command.rsplit(" ", 1)[1]
            while True:
                try:
                    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
                        results.append(r.status)
                    break
                except urllib.error.HTTPError as e:
                    results.append(e.code)
                    assert "invalid_token" in e.headers["WWW-Authenticate"] or e.headers["WWW-Authenticate"] == "Bearer"
                    break
                except urllib.error.URLError:
                    assert time.monotonic() < deadline, "demo server did not come up"
                    time.sleep(0.1)
        assert results == [200, 401, 401, 200]
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()
