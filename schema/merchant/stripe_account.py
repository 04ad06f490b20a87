"""The business's own Stripe account, for the API key's mode: `stripeAccount` (what is connected, never a secret),
and `connectStripe` (keys of the key's own mode: a test API key connects test keys, a live one live keys), thin over
merchants.stripe_accounts. Both answer with the webhook address to register in Stripe's dashboard; the operator's
`portal business update --stripe-disconnect` forgets an account.
"""

from datetime import datetime

import strawberry

from merchants.inputs import MerchantInputError
from merchants.stripe_accounts import StripeKeys, connect_stripe, mode_of, webhook_path
from models import StripeAccount as StripeAccountRow
from schema.common.errors import UserError
from schema.merchant.context import MerchantContext
from schema.merchant.inputs import attempt

Info = strawberry.Info[MerchantContext, None]


@strawberry.type(description="The business's Stripe account in the API key's mode. Its secrets are never returned.")
class StripeAccount:
    livemode: bool
    publishable_key: str
    connected_account: str = strawberry.field(description="acct_… under Stripe Connect; empty for the key's own.")
    webhook_url: str = strawberry.field(
        description="Register it in Stripe's dashboard as a webhook endpoint, with its signing secret given here."
    )
    updated_at: datetime

    @classmethod
    def of(cls, row: StripeAccountRow, base_url: str) -> "StripeAccount":
        return cls(
            livemode=row.livemode,
            publishable_key=row.publishable_key,
            connected_account=row.connected_account,
            webhook_url=f"{base_url}{webhook_path(row.business_id, row.livemode)}",
            updated_at=row.updated_at,
        )


@strawberry.input(description="A Stripe account's keys, all of the API key's mode.")
class ConnectStripeInput:
    secret_key: str = strawberry.field(description="sk_… or a restricted rk_… key.")
    publishable_key: str = strawberry.field(description="pk_…")
    webhook_secret: str = strawberry.field(description="whsec_…: the signing secret of the webhook endpoint.")
    connected_account: str = strawberry.field(default="", description="acct_…: act for it under Stripe Connect.")


@strawberry.type
class StripeAccountPayload:
    stripe_account: StripeAccount | None = strawberry.field(description="Null when errors is not empty.")
    errors: list[UserError]


@strawberry.type
class StripeAccountQuery:
    @strawberry.field(description="The Stripe account connected in the API key's mode; null when there is none.")
    async def stripe_account(self, info: Info) -> StripeAccount | None:
        context = info.context
        row = await StripeAccountRow.get_or_none(business_id=context.business_id, livemode=context.livemode)
        return StripeAccount.of(row, context.base_url) if row else None


async def _connect(info: Info, keys: StripeKeys) -> StripeAccountRow:
    context = info.context
    if mode_of(keys) != context.livemode:
        mode = "live" if context.livemode else "test"
        raise MerchantInputError(f"a {mode} API key connects Stripe's {mode} keys", "secret_key")
    if context.billing.credentials is None:
        raise MerchantInputError("this deployment keeps no processor keys", "secret_key")
    return await connect_stripe(context.api_key.business, keys, context.billing.credentials)


@strawberry.type
class StripeAccountMutations:
    @strawberry.mutation(
        description="Connect the business's Stripe account for the API key's mode: its charges and refunds go "
        "through Stripe from now on."
    )
    async def connect_stripe(self, info: Info, input: ConnectStripeInput) -> StripeAccountPayload:
        keys = StripeKeys(input.secret_key, input.publishable_key, input.webhook_secret, input.connected_account)
        row, errors = await attempt(_connect(info, keys))
        account = StripeAccount.of(row, info.context.base_url) if row else None
        return StripeAccountPayload(stripe_account=account, errors=errors)
