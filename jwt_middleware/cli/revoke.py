"""``revoke`` and ``revocations``: the Redis deny-list from a terminal."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ..core import jose
from ..core.errors import AuthError, ConfigError
from .common import EXIT_OK, EXIT_REFUSED, EXIT_UNAVAILABLE, relative, token_argument, utc


def _store(args: argparse.Namespace) -> Any:
    from ..stores.redis import RedisRevocationStore  # noqa: PLC0415 - the redis extra, needed by these commands only

    store = RedisRevocationStore(args.redis, prefix=args.prefix)
    if not store.mirror.loaded.is_set():
        store.close()
        return None
    return store


def run_revoke(args: argparse.Namespace) -> int:
    from ..stores.redis import StoreWriteFailed  # noqa: PLC0415 - the redis extra

    chosen = [x for x in (args.jti, args.sub, args.token) if x]
    if len(chosen) != 1:
        raise ConfigError("revoke", "give exactly one of --jti ID --until UNIX, --sub SUBJECT, or a TOKEN")
    if args.jti and args.until is None:
        raise ConfigError("--until", "--jti needs --until: when the token expires anyway (its exp)")
    store = _store(args)
    if store is None:
        print(f"unavailable: store_unreachable: no answer from {args.redis}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    try:
        if args.sub:
            store.revoke_subject(args.sub)
            print(f"revoked every token of subject {args.sub!r} issued until {utc(time.time())}")
        else:
            jti, until = args.jti, args.until
            if args.token:
                try:
                    claims = jose.parse(jose.compact(token_argument(args.token))).claims
                except AuthError as exc:
                    print(f"malformed: {exc.reason}: {exc.description}", file=sys.stderr)
                    return EXIT_REFUSED
                jti, until = claims.get("jti"), claims.get("exp")
                if not isinstance(jti, str) or not isinstance(until, int | float):
                    raise ConfigError("TOKEN", "the token has no jti or exp to revoke by; revoke its subject (--sub)")
            store.revoke_jti(jti, float(until))
            print(f"revoked jti {jti!r} until {utc(float(until))}")
    except StoreWriteFailed as exc:
        print(f"unavailable: {exc.reason}: {exc.description}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    finally:
        store.close()
    return EXIT_OK


def run_revocations(args: argparse.Namespace) -> int:
    store = _store(args)
    if store is None:
        print(f"unavailable: store_unreachable: no answer from {args.redis}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    now = time.time()
    try:
        jti, sub = dict(store.mirror.jti), dict(store.mirror.sub)
    finally:
        store.close()
    print(f"{len(jti)} revoked jti and {len(sub)} revoked subjects (identifiers as the store keeps them: SHA-256 digests)")
    for digest, until in sorted(jti.items(), key=lambda kv: kv[1]):
        print(f"  jti {digest}  until {utc(until)} ({relative(until, now)})")
    for digest, before in sorted(sub.items(), key=lambda kv: kv[1]):
        print(f"  sub {digest}  tokens issued before {utc(before)}; kept until {utc(before + store.max_token_lifetime)}")
    return EXIT_OK


def add(sub: Any) -> None:
    shows = argparse.ArgumentDefaultsHelpFormatter
    r = sub.add_parser("revoke", help="revoke a jti, a subject or a token in a Redis store", formatter_class=shows)
    r.add_argument("token", nargs="?", help="a token whose jti to revoke until its exp (or - for standard input)")
    r.add_argument("--redis", required=True, metavar="URL", help="the Redis the middleware's RedisRevocationStore uses")
    r.add_argument("--prefix", default="jwt_middleware:", help="the store's prefix")
    r.add_argument("--jti", help="revoke this jti (with --until)")
    r.add_argument("--until", type=float, metavar="UNIX", help="when the jti's token expires anyway")
    r.add_argument("--sub", help="revoke every token of this subject issued until now")
    r.set_defaults(run=run_revoke)
    v = sub.add_parser("revocations", help="list what a Redis store holds revoked, with expiry", formatter_class=shows)
    v.add_argument("--redis", required=True, metavar="URL", help="the store's Redis")
    v.add_argument("--prefix", default="jwt_middleware:", help="the store's prefix")
    v.set_defaults(run=run_revocations)
