"""`portal api-key create|list|revoke`: a business's merchant API keys."""

import argparse

from gateway.cli.common import CommandError, business_of, run_with_database
from gateway.settings import Settings
from merchants.api_keys import create_api_key, list_api_keys, revoke_api_key
from models import ApiKey


def add_api_key_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("api-key", help="merchant API keys")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key and print its secret, shown only this once")
    create.add_argument("--business", required=True, help="the business id")
    create.add_argument("--mode", choices=["test", "live"], required=True)
    create.add_argument("--name", default="", help="a label to tell keys apart")
    create.set_defaults(handler=_create_api_key)
    listing = actions.add_parser("list", help="a business's keys: id, prefix, mode, created, revoked")
    listing.add_argument("--business", required=True, help="the business id")
    listing.set_defaults(handler=_list_api_keys)
    revoke = actions.add_parser("revoke", help="revoke a key for good, with the tokens and portal links it made")
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=_revoke_api_key)


def _create_api_key(args: argparse.Namespace, settings: Settings) -> int:
    async def create() -> tuple[str, ApiKey]:
        return await create_api_key(await business_of(args.business), livemode=args.mode == "live", name=args.name)

    secret, api_key = run_with_database(settings, create)
    print(f"Created {args.mode} API key {api_key.id} for {args.business}; the secret is shown only this once:")
    print(secret)
    return 0


def _list_api_keys(args: argparse.Namespace, settings: Settings) -> int:
    async def keys() -> list[ApiKey]:
        return await list_api_keys(await business_of(args.business))

    for key in run_with_database(settings, keys):
        revoked = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        mode = "live" if key.livemode else "test"
        print(f"{key.id}  {key.prefix}…  {mode}  created {key.created_at:%Y-%m-%d %H:%M}  {revoked}  {key.name}")
    return 0


def _revoke_api_key(args: argparse.Namespace, settings: Settings) -> int:
    api_key = run_with_database(settings, lambda: revoke_api_key(args.key_id))
    if api_key is None:
        raise CommandError(f"no API key {args.key_id}")
    print(f"Revoked API key {api_key.id} ({api_key.prefix}…); the tokens and portal links it made no longer work.")
    return 0
