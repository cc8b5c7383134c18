"""A real redis-server on a free loopback port, started by the tests (and stopped mid-test)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too."""
    for _ in range(200):
        port = _free_port()
        if port + 10000 > 65535:
            port -= 20000
        try:
            for candidate in (port, port + 10000):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


def _binary(name: str) -> str:
    binary = shutil.which(name)
    if binary is None:  # never a skip: `make test` installs it, and a missing one is a failure
        raise RuntimeError(f"{name} is not installed; `make test` installs it (apt-get install redis-server)")
    return binary


class RedisServer:
    """One redis-server; ``extra`` adds arguments (``--cluster-enabled yes``, ``--replicaof ...``)."""

    def __init__(self, extra: Sequence[str] = (), sentinel: bool = False, port: int | None = None) -> None:
        self.binary = _binary("redis-server")
        self.port = port or _free_port()
        self.dir = tempfile.mkdtemp(prefix="jwtmw-redis-")
        self.extra = list(extra)
        self.sentinel = sentinel
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        # Append-only persistence, as a deny-list needs in production: a restart keeps revocations.
        if self.sentinel:  # a sentinel rewrites its config file: it needs one of its own
            conf = os.path.join(self.dir, "sentinel.conf")
            if not os.path.exists(conf):
                with open(conf, "w") as f:
                    f.write(f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n" + "".join(line + "\n" for line in self.extra))
            args = [self.binary, conf, "--sentinel"]
        else:
            args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, "--save", ""]
            args += ["--appendonly", "yes", "--appendfsync", "always", *self.extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def signal(self, sig: int) -> None:
        """Send a signal: SIGSTOP pauses Redis, SIGCONT resumes it, SIGKILL kills it."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        if sig == signal.SIGKILL:
            self.proc.wait(10)
            self.proc = None

    def cli(self, *args: str) -> str:
        return subprocess.run(
            [_binary("redis-cli"), "-p", str(self.port), *args], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except Exception:  # a server still starting, a cluster still forming
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not reached in {timeout} s")
        time.sleep(0.05)


class RedisClusterServers:
    """Three masters, no replicas, formed with ``redis-cli --cluster create``."""

    def __init__(self) -> None:
        self.nodes = [
            RedisServer(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"], port=_free_cluster_port())
            for _ in range(3)
        ]
        addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
        subprocess.run(
            [_binary("redis-cli"), "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        wait_for(lambda: all("cluster_state:ok" in n.cli("cluster", "info") for n in self.nodes), what="cluster_state:ok")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    def cleanup(self) -> None:
        for node in self.nodes:
            node.cleanup()


class RedisSentinelServers:
    """A primary, a replica and three sentinels watching ``mymaster``.

    Every write must reach every replica: ``min-replicas-to-write 1`` on each node, and the
    stores' ``wait_replicas=1``. So whichever node a failover promotes holds every write
    that was acknowledged, and an old primary cut off from its replica refuses writes.
    """

    def __init__(self) -> None:
        durable = ["--min-replicas-to-write", "1", "--min-replicas-max-lag", "2"]
        self.primary = RedisServer(durable)
        self.replica = RedisServer(["--replicaof", "127.0.0.1", str(self.primary.port), *durable])
        watch = [
            f"sentinel monitor mymaster 127.0.0.1 {self.primary.port} 2",
            "sentinel down-after-milliseconds mymaster 600",
            "sentinel failover-timeout mymaster 4000",
        ]
        self.sentinels = [RedisServer(watch, sentinel=True) for _ in range(3)]
        wait_for(lambda: "master_link_status:up" in self.replica.cli("info", "replication"), what="replica in sync")
        wait_for(lambda: all(self.sentinel_view_ok(s) for s in self.sentinels), what="sentinels see the replica")

    @staticmethod
    def sentinel_view_ok(sentinel: RedisServer) -> bool:
        info = sentinel.cli("info", "sentinel")
        return "slaves=1" in info and "sentinels=3" in info

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", s.port) for s in self.sentinels]

    def master_port(self) -> int:
        return int(self.sentinels[0].cli("sentinel", "get-master-addr-by-name", "mymaster").split()[1])

    def cleanup(self) -> None:
        for server in [*self.sentinels, self.primary, self.replica]:
            server.cleanup()
