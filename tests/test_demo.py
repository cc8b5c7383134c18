"""`make demo` prints working instructions: run it and follow every command it prints."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from servers import free_socket

ROOT = Path(__file__).resolve().parent.parent


def _run_curl(command: str) -> int:
    """Do what one printed curl command does, with urllib."""
    args = shlex.split(command)[1:]
    method, headers, data, url = "GET", {}, None, ""
    i = 0
    while i < len(args):
        if args[i] == "-X":
            method, i = args[i + 1], i + 2
        elif args[i] == "-H":
            name, value = args[i + 1].split(": ", 1)
            headers[name] = value
            i += 2
        elif args[i] == "-d":
            data, i = args[i + 1].encode(), i + 2
        elif args[i] == "-i":
            i += 1
        else:
            url, i = args[i], i + 1
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        with e:
            assert e.headers.get("Content-Type", "").startswith("application/json")
            return int(e.code)


def test_demo_prints_commands_that_do_what_they_say() -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "DEMO_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "examples.demo"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not any(line.startswith("Serving on") for line in lines):
            line = proc.stdout.readline()
            assert line, "demo exited early"
            lines.append(line.strip())
        steps = [re.match(r"(curl .*?)\s+# expect (\d{3})$", line) for line in lines]
        steps = [m for m in steps if m]
        assert len(steps) == 14
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "demo servers did not come up"
                time.sleep(0.1)
        for step in steps:
            assert _run_curl(step.group(1)) == int(step.group(2)), step.group(0)[:120]
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()
