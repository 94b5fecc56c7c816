"""`misstep keys`: mint, list and revoke API keys in the Redis at REDIS_URL.

misstep keys create --tenant T [--plan free|pro|enterprise] [--credits N]   prints the new key once
misstep keys list [--tenant T] [--json]
misstep keys revoke KEY_ID
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

import msgspec
from redis.asyncio import Redis

from workers.credits import CreditStore
from workers.keys import ApiKey, KeySetupError, KeyStore
from workers.plans import DEFAULT_PLAN, PLANS
from workers.settings import Settings

EXIT_OK, EXIT_INVALID, EXIT_NOT_FOUND = 0, 2, 3


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = sub.add_parser("keys", help="create, list or revoke API keys")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    create = actions.add_parser("create", help="mint a key for a tenant (printed once)")
    create.add_argument("--tenant", required=True)
    create.add_argument("--plan", default=DEFAULT_PLAN, choices=sorted(PLANS))
    create.add_argument("--credits", type=float, help="set the tenant's credit balance")
    listing = actions.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--tenant")
    listing.add_argument("--json", action="store_true")
    revoke = actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=settings.redis_timeout_s)
    store = KeyStore(redis, pepper=settings.key_pepper)
    try:
        if args.keys_command == "create":
            try:
                key, record = await store.create(args.tenant, args.plan)
            except KeySetupError as exc:
                sys.stderr.write(f"misstep: {exc}\n")
                return EXIT_INVALID
            if args.credits is not None:
                await CreditStore(redis).set_balance(args.tenant, args.credits)
            sys.stdout.write(f"{key}\n")
            sys.stderr.write(f"key {record.key_id} for tenant {record.tenant} (plan {record.plan}); shown only once\n")
            return EXIT_OK
        if args.keys_command == "list":
            records = await store.list(args.tenant)
            if args.json:
                sys.stdout.write(json.dumps([_row(r) for r in records], indent=1) + "\n")
            for r in [] if args.json else records:
                state = f"revoked {r.revoked_at}" if r.revoked_at else "active"
                sys.stdout.write(
                    f"{r.key_id}  {r.prefix}…  tenant={r.tenant}  plan={r.plan}  {r.created_at}  {state}\n"
                )
            return EXIT_OK
        revoked = await store.revoke(args.key_id)
        if revoked is None:
            sys.stderr.write(f"misstep: no key {args.key_id!r}\n")
            return EXIT_NOT_FOUND
        sys.stdout.write(f"revoked {revoked.key_id} (tenant {revoked.tenant})\n")
        return EXIT_OK
    finally:
        await redis.aclose()


def _row(record: ApiKey) -> dict[str, object]:
    row = msgspec.to_builtins(record)
    row.pop("digest", None)
    return row


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))
