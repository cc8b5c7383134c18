"""Revocation through Redis: requests/s against the memory store, and how fast a revocation spreads."""

from __future__ import annotations

import asyncio
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .http_load import ROUNDS, SECONDS, _free_port, _load, _start

PROPAGATION_SAMPLES = 200


def _redis() -> tuple[subprocess.Popen[bytes], int, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed; `make test` installs it")
    port, folder = _free_port(), tempfile.mkdtemp(prefix="bench-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder, "--save", ""], stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port, folder
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.02)


def _status(port: int, token: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/api", headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def redis_section() -> dict[str, float]:
    """Both stacks up at once, loaded in turn; then revocations written here, refused there."""
    from jwt_middleware.stores.redis import RedisRevocationStore

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    now = int(time.time())

    def token(jti: str) -> str:
        return jwt.encode({"sub": "alice", "iat": now, "exp": now + 3600, "jti": jti}, key, algorithm="RS256")

    redis_proc, redis_port, folder = _redis()
    env = {**os.environ, "BENCH_PUBLIC_PEM": pem, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}
    servers = {}
    try:
        for app in ("memory", "redis"):
            servers[app] = _start(app, env, module="benchmarks.revocation_apps")
        same = token("same")
        for app in servers:
            asyncio.run(_load(servers[app][1], same, 0.5))
        done = dict.fromkeys(servers, 0.0)
        for _ in range(ROUNDS):
            for app in servers:
                done[app] += asyncio.run(_load(servers[app][1], same, SECONDS / ROUNDS)) * SECONDS / ROUNDS
        results = {app: done[app] / SECONDS for app in servers}
        for app in servers:
            print(f"  uvicorn + Starlette, revocation in {app:<6} {results[app]:10.0f} req/s (same token, RS256)", flush=True)

        writer = RedisRevocationStore(env["REDIS_URL"])
        delays = []
        port = servers["redis"][1]
        for _ in range(PROPAGATION_SAMPLES):
            jti = uuid.uuid4().hex
            probe = token(jti)
            assert _status(port, probe) == 200
            started = time.perf_counter()
            writer.revoke_jti(jti, now + 3600)
            while _status(port, probe) != 401:
                pass
            delays.append(time.perf_counter() - started)
        writer.close()
    finally:
        for server, _ in servers.values():
            server.terminate()
            server.wait(10)
        redis_proc.terminate()
        redis_proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    delays.sort()
    results["p50"] = statistics.median(delays)
    results["p99"] = delays[int(len(delays) * 0.99) - 1]
    print(
        f"  revoke_jti here to the first 401 from the uvicorn process: p50 {results['p50'] * 1000:.1f} ms,"
        f" p99 {results['p99'] * 1000:.1f} ms ({PROPAGATION_SAMPLES} revocations, loopback)",
        flush=True,
    )
    return results
