"""What moving money needs from the deployment: which payment processor charges a business in a mode, where the
portal lives (for the links in emails and the page a customer returns to after authenticating a payment) and the
secret key that seals the links an email carries (core.email_outbox). Built once by gateway.

The processor of a business in a mode: Stripe when the business connected Stripe for that mode
(merchants.stripe_accounts); else the deployment's sandbox in test mode, and in live mode only where the deployment
allows it (the demo); else none, and a charge is refused with nothing changed.

Uses merchants.custom_domains for where a business's portal lives when it has a custom domain.
"""

from dataclasses import dataclass, field
from datetime import datetime

from billing.errors import NO_PROCESSOR, BillingError, BillingErrorCode
from billing.processors.protocol import PaymentProcessor
from billing.processors.stripe import STRIPE_API_BASE, StripeProcessor
from core.secret_box import SecretBox
from merchants.custom_domains import sign_in_url_for
from merchants.stripe_accounts import stripe_credentials
from models import Business, StripeAccount

# Stripe processors already made, by business, mode and portal address: each holds its own HTTP connections.
_ProcessorCache = dict[tuple[str, bool, str], tuple[datetime, StripeProcessor]]


@dataclass(frozen=True)
class BillingContext:
    # The deployment's own processor (the sandbox, or a test's): test mode's, and live mode's where allowed.
    processor: PaymentProcessor | None
    base_url: str
    portal_name: str
    secret_key: str = field(repr=False)
    # What opens the businesses' stored Stripe keys; without it no business charges through Stripe.
    credentials: SecretBox | None = None
    stripe_api_base: str = STRIPE_API_BASE
    sandbox_in_live_mode: bool = False
    _stripe_processors: _ProcessorCache = field(default_factory=dict, repr=False, compare=False)

    def portal_url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def sign_in_url(self, business: Business, livemode: bool) -> str:
        """The business's sign-in page (on its custom domain, if it has one), where an email's reader gets into
        their portal."""
        return await sign_in_url_for(business, livemode, self.base_url)

    async def processor_for(self, business_id: str, livemode: bool) -> PaymentProcessor:
        """Who charges the business in this mode; raises BillingError(NOT_ALLOWED) where nobody may."""
        stripe = await self.stripe_processor(business_id, livemode)
        if stripe is not None:
            return stripe
        if self.processor is not None and (not livemode or self.sandbox_in_live_mode):
            return self.processor
        raise BillingError(BillingErrorCode.NOT_ALLOWED, message=NO_PROCESSOR)

    async def stripe_processor(self, business_id: str, livemode: bool) -> StripeProcessor | None:
        """The business's Stripe account in this mode, if it connected one."""
        if self.credentials is None:
            return None
        account = await StripeAccount.get_or_none(business_id=business_id, livemode=livemode)
        if account is None:
            return None
        key = (business_id, livemode, self.base_url)
        cached = self._stripe_processors.get(key)
        if cached is not None and cached[0] == account.updated_at:
            return cached[1]
        credentials = await stripe_credentials(business_id, livemode, self.credentials)
        if credentials is None:
            return None
        processor = StripeProcessor(credentials, base_url=self.base_url, api_base=self.stripe_api_base)
        self._stripe_processors[key] = (account.updated_at, processor)
        return processor
