"""What moving money needs from the deployment: the payment processor, where the portal lives (for the links in
emails and the page a customer returns to after authenticating a payment) and the secret key that seals the links
an email carries (core.email_outbox). Built once by gateway.

Uses merchants.custom_domains for where a business's portal lives when it has a custom domain.
"""

from dataclasses import dataclass, field

from billing.processors.protocol import PaymentProcessor
from merchants.custom_domains import sign_in_url_for
from models import Business


@dataclass(frozen=True)
class BillingContext:
    processor: PaymentProcessor
    base_url: str
    portal_name: str
    secret_key: str = field(repr=False)

    def portal_url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def sign_in_url(self, business: Business, livemode: bool) -> str:
        """The business's sign-in page (on its custom domain, if it has one), where an email's reader gets into
        their portal."""
        return await sign_in_url_for(business, livemode, self.base_url)
