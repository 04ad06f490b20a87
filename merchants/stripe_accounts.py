"""A business's own Stripe account: connecting it (keys checked, the secret ones sealed), reading the credentials
back for the processor, and the webhook address the business registers in Stripe.

The keys decide the mode: `sk_test_`/`rk_test_` with `pk_test_` connect test mode, `sk_live_`/`rk_live_` with
`pk_live_` live mode; a mixture is refused with nothing written. The secret key and the webhook signing secret are
encrypted with core.secret_box before they are stored and are never returned by anything here but
`stripe_credentials`, whose fields stay out of any repr.
"""

import re
from dataclasses import dataclass, field

from core.secret_box import SecretBox
from merchants.inputs import MerchantInputError
from models import Business, StripeAccount

_SECRET_KEY = re.compile(r"(sk|rk)_(test|live)_[A-Za-z0-9_]{8,200}")
_PUBLISHABLE_KEY = re.compile(r"pk_(test|live)_[A-Za-z0-9_]{8,200}")
_WEBHOOK_SECRET = re.compile(r"whsec_[A-Za-z0-9_+/=]{8,200}")
_CONNECTED_ACCOUNT = re.compile(r"acct_[A-Za-z0-9]{1,60}")
WEBHOOK_PATH = "/webhooks/stripe/{business_id}/{mode}"


class StripeKeyError(MerchantInputError):
    """Keys that cannot connect a Stripe account; nothing was written."""


@dataclass(frozen=True)
class StripeKeys:
    """What a business gives to connect Stripe in one mode."""

    secret_key: str = field(repr=False)
    publishable_key: str
    webhook_secret: str = field(repr=False)
    connected_account: str = ""


@dataclass(frozen=True)
class StripeCredentials:
    """A connected account's credentials, opened for the processor and the webhook route."""

    business_id: str
    livemode: bool
    secret_key: str = field(repr=False)
    publishable_key: str
    webhook_secret: str = field(repr=False)
    connected_account: str = ""


def mode_of(keys: StripeKeys) -> bool:
    """Whether the keys are live ones (else test ones); raises StripeKeyError for keys that are not Stripe's or
    that mix the modes."""
    secret = _SECRET_KEY.fullmatch(keys.secret_key.strip())
    if secret is None:
        raise StripeKeyError("the secret key must be a Stripe secret or restricted key (sk_… or rk_…)", "secret_key")
    publishable = _PUBLISHABLE_KEY.fullmatch(keys.publishable_key.strip())
    if publishable is None:
        raise StripeKeyError("the publishable key must be a Stripe publishable key (pk_…)", "publishable_key")
    if publishable[1] != secret[2]:
        raise StripeKeyError(
            "the secret and publishable keys must be both test keys or both live keys", "publishable_key"
        )
    if _WEBHOOK_SECRET.fullmatch(keys.webhook_secret.strip()) is None:
        raise StripeKeyError("the webhook secret must be the endpoint's signing secret (whsec_…)", "webhook_secret")
    if keys.connected_account and _CONNECTED_ACCOUNT.fullmatch(keys.connected_account.strip()) is None:
        raise StripeKeyError("the connected account must be a Stripe account id (acct_…)", "connected_account")
    return secret[2] == "live"


def webhook_path(business_id: str, livemode: bool) -> str:
    """Where Stripe sends the business's events for that mode, below the portal's address."""
    return WEBHOOK_PATH.format(business_id=business_id, mode="live" if livemode else "test")


async def connect_stripe(business: Business, keys: StripeKeys, box: SecretBox) -> StripeAccount:
    """Connect (or reconnect) the business's Stripe account for the mode its keys are for."""
    livemode = mode_of(keys)
    columns = {
        "sealed_secret_key": box.seal(keys.secret_key.strip()),
        "sealed_webhook_secret": box.seal(keys.webhook_secret.strip()),
        "publishable_key": keys.publishable_key.strip(),
        "connected_account": keys.connected_account.strip(),
    }
    account, _ = await StripeAccount.update_or_create(columns, business_id=business.id, livemode=livemode)
    return account


async def disconnect_stripe(business: Business, livemode: bool) -> bool:
    """Forget the business's Stripe credentials for the mode; whether there were any."""
    return bool(await StripeAccount.filter(business_id=business.id, livemode=livemode).delete())


async def stripe_credentials(business_id: str, livemode: bool, box: SecretBox) -> StripeCredentials | None:
    account = await StripeAccount.get_or_none(business_id=business_id, livemode=livemode)
    if account is None:
        return None
    return StripeCredentials(
        business_id=business_id,
        livemode=livemode,
        secret_key=box.open(account.sealed_secret_key),
        publishable_key=account.publishable_key,
        webhook_secret=box.open(account.sealed_webhook_secret),
        connected_account=account.connected_account,
    )


async def reseal_credentials(box: SecretBox) -> int:
    """Seal every stored secret again under the box's first key (after a new key was put in front); how many
    accounts were rewritten. Once it has run, the old key can be dropped."""
    accounts = await StripeAccount.all()
    for account in accounts:
        await StripeAccount.filter(id=account.id).update(
            sealed_secret_key=box.rotate(account.sealed_secret_key),
            sealed_webhook_secret=box.rotate(account.sealed_webhook_secret),
        )
    return len(accounts)
