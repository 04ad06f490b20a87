"""`portal webhook create|list|rotate|replay`: a business's webhook endpoints and their deliveries."""

import argparse

from gateway.cli.common import CommandError, business_of, run_with_database
from gateway.settings import Settings
from merchants.webhooks import WebhookEndpointError, create_endpoint, list_endpoints, replay_delivery, rotate_secret
from models import WebhookDelivery, WebhookEndpoint
from models.ids import find_by_client_id


def add_webhook_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("webhook", help="webhook endpoints, until the merchant API manages them")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="add an endpoint and print its secret, shown only this once")
    create.add_argument("--business", required=True, help="the business id")
    create.add_argument("--mode", choices=["test", "live"], required=True)
    create.add_argument("--url", required=True, help="where to POST events (https in live mode)")
    create.add_argument("--events", default="", help="comma-separated event types (default: every type)")
    create.set_defaults(handler=_create_webhook)
    listing = actions.add_parser("list", help="a business's endpoints: id, mode, state, URL, event types")
    listing.add_argument("--business", required=True, help="the business id")
    listing.set_defaults(handler=_list_webhooks)
    rotate = actions.add_parser("rotate", help="new secret, printed once; the old one still signs for 24 hours")
    rotate.add_argument("endpoint_id")
    rotate.set_defaults(handler=_rotate_webhook)
    replay = actions.add_parser("replay", help="send a delivery again (same webhook-id) at the next worker pass")
    replay.add_argument("delivery_id")
    replay.set_defaults(handler=_replay_webhook)


def _create_webhook(args: argparse.Namespace, settings: Settings) -> int:
    async def create() -> tuple[WebhookEndpoint, str]:
        try:
            return await create_endpoint(
                await business_of(args.business),
                livemode=args.mode == "live",
                url=args.url,
                event_types=[name.strip() for name in args.events.split(",") if name.strip()],
                allow_private=settings.webhooks_allow_private,
            )
        except WebhookEndpointError as error:
            raise CommandError(error.message) from error

    endpoint, secret = run_with_database(settings, create)
    print(
        f"Created {args.mode} webhook endpoint {endpoint.id} for {args.business}; the secret is shown only this once:"
    )
    print(secret)
    return 0


def _list_webhooks(args: argparse.Namespace, settings: Settings) -> int:
    async def endpoints() -> list[WebhookEndpoint]:
        return await list_endpoints(await business_of(args.business))

    for endpoint in run_with_database(settings, endpoints):
        mode = "live" if endpoint.livemode else "test"
        state = "disabled" if endpoint.disabled else "enabled"
        types = ",".join(endpoint.event_types) or "all events"
        print(f"{endpoint.id}  {mode}  {state}  {endpoint.url}  {types}")
    return 0


def _rotate_webhook(args: argparse.Namespace, settings: Settings) -> int:
    async def rotate() -> str:
        endpoint = await find_by_client_id(WebhookEndpoint, args.endpoint_id)
        if endpoint is None:
            raise CommandError(f"no webhook endpoint {args.endpoint_id}")
        return await rotate_secret(endpoint)

    secret = run_with_database(settings, rotate)
    print(f"New secret for {args.endpoint_id}, shown only this once (the previous one still signs for 24 hours):")
    print(secret)
    return 0


def _replay_webhook(args: argparse.Namespace, settings: Settings) -> int:
    async def replay() -> None:
        delivery = await find_by_client_id(WebhookDelivery, args.delivery_id)
        if delivery is None:
            raise CommandError(f"no webhook delivery {args.delivery_id}")
        await replay_delivery(delivery)

    run_with_database(settings, replay)
    print(f"Delivery {args.delivery_id} is queued again; a worker sends it with the same webhook-id.")
    return 0
