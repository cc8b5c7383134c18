"""``make bench BASE=<ref>``: the working tree against a git ref, side by side in one run.

How both versions run in one run. ``git archive <ref> jwt_middleware`` unpacks the ref's
package into a temporary folder; then two worker processes (``benchmarks.compare_worker``)
start, each importing ``jwt_middleware`` under its own name from its own folder: the ref's,
or this working tree's (uncommitted changes included). This process drives them round by
round: for every case, one batch on one side, then one batch on the other, the order
swapped every round (A B, B A, A B, ...), so the machine's slow patches hit both sides
alike. Only one worker runs at a time; each times its own batch, so the pipe is not in the
figures, and by its own CPU time (``time.thread_time``; ``--clock wall`` for the wall clock),
which leaves out the time other processes held the CPU: with other test suites busy on two
cores, identical code read 0.98-1.02 by CPU time and 0.72-1.29 by the wall clock.

Why processes and not one process importing the ref's package under another name: each
side keeps the real package name, so nothing depends on how the package imports itself
(relative or absolute, ``importlib`` by name, a logger called ``jwt_middleware``), and no
module state (caches, registries) is shared between the two versions. Both sides run the
same case code (this working tree's ``benchmarks``) against the same tokens, made here.

The cases use only the public surface that every version shares (the two middleware
classes, their ``settings`` and calling the app), so a ref from before an internal
refactor can still be compared.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchmark-secret-benchmark-secret-0123456789"
N_TOKENS = 2000


def _git(*args: str) -> bytes:
    done = subprocess.run(["git", "-C", str(ROOT), *args], check=False, capture_output=True)
    if done.returncode:
        raise SystemExit(f"git {' '.join(args)}: {done.stderr.decode().strip()}")
    return done.stdout


def unpack(ref: str, into: Path) -> str:
    """The ref's ``jwt_middleware/`` unpacked under ``into``; returns the commit, described."""
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}").decode().strip()
    with tarfile.open(fileobj=BytesIO(_git("archive", commit, "jwt_middleware"))) as archive:
        archive.extractall(into, filter="data")
    return _git("log", "-1", "--format=%h %s", commit).decode().strip()


def material(clock: str) -> dict[str, Any]:
    """One RSA key and secret, the tokens both sides will see, and the clock they time by."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())

    def tokens(signing: Any, alg: str) -> list[str]:
        claims = {"iat": now, "exp": now + 3600, "scope": "read write"}
        return [jwt.encode({**claims, "sub": f"user{i}", "jti": str(i)}, signing, algorithm=alg) for i in range(N_TOKENS)]

    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {
        "clock": clock,
        "public_pem": public_pem.decode(),
        "secret": SECRET,
        "rs256": tokens(key, "RS256"),
        "hs256": tokens(SECRET, "HS256"),
    }


class Side:
    """A worker process with one copy of the package, driven one batch at a time."""

    def __init__(self, package_root: Path, shared: str) -> None:
        self.root = package_root
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.compare_worker", str(package_root)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        hello = self._ask(shared)
        self.cases: list[str] = hello["cases"]
        self.package: str = hello["package"]

    def _ask(self, line: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError(f"the worker for {self.root} exited ({self.process.wait()})")
        return json.loads(answer)  # type: ignore[no-any-return]

    def batch(self, case: str, n: int) -> float:
        """µs per call for ``n`` calls of ``case``."""
        return float(self._ask(json.dumps({"case": case, "n": n}))["seconds"]) / n * 1e6

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(10)


def compare(ref: str, *, rounds: int = 15, batch: int = 1000, clock: str = "cpu") -> dict[str, tuple[float, float]]:
    """Median µs per call of every case, ``(base, working tree)``; prints the table."""
    with tempfile.TemporaryDirectory(prefix="bench-base-") as tmp:
        described = unpack(ref, Path(tmp))
        shared = json.dumps(material(clock))
        sides: dict[str, Side] = {}
        try:
            sides["base"] = Side(Path(tmp), shared)
            sides["tree"] = Side(ROOT, shared)
            samples = _rounds(sides, rounds, batch)
        finally:
            for side in sides.values():
                side.close()
    dirty = " (with uncommitted changes)" if _git("status", "--porcelain", "--", "jwt_middleware") else ""
    head = _git("log", "-1", "--format=%h", "HEAD").decode().strip()
    print(f"base: {ref} = {described}")
    print(f"tree: the working tree at {head}{dirty}")
    print(f"{rounds} rounds of {batch} calls per case and side, the sides taking turns; median µs per call ({clock} time)\n")
    return _table(samples)


def _rounds(sides: dict[str, Side], rounds: int, batch: int) -> dict[str, dict[str, list[float]]]:
    names = sides["base"].cases
    if sides["tree"].cases != names:
        raise RuntimeError("the two workers built different cases")
    for name in names:  # warm-up
        for side in sides.values():
            side.batch(name, max(batch // 10, 10))
    samples: dict[str, dict[str, list[float]]] = {name: {"base": [], "tree": []} for name in names}
    for r in range(rounds):
        order = ("base", "tree") if r % 2 == 0 else ("tree", "base")
        for name in names:
            for which in order:
                samples[name][which].append(sides[which].batch(name, batch))
    return samples


def _table(samples: dict[str, dict[str, list[float]]]) -> dict[str, tuple[float, float]]:
    print(f"  {'case':<44} {'base':>9} {'tree':>9} {'tree/base':>10}   {'round by round, middle half':>27}")
    results: dict[str, tuple[float, float]] = {}
    for name, sample in samples.items():
        base, tree = statistics.median(sample["base"]), statistics.median(sample["tree"])
        paired = [t / b for b, t in zip(sample["base"], sample["tree"], strict=True)]
        low, _, high = statistics.quantiles(paired, n=4)
        results[name] = (base, tree)
        print(f"  {name:<44} {base:9.2f} {tree:9.2f} {tree / base:10.2f}   {f'{low:.2f} to {high:.2f}':>27}", flush=True)
    return results
