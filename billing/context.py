"""What moving money needs from the deployment: the payment processor, and where the portal lives (for the links in
emails and the page a customer returns to after authenticating a payment). Built once by gateway."""

from dataclasses import dataclass

from billing.processor import PaymentProcessor


@dataclass(frozen=True)
class BillingContext:
    processor: PaymentProcessor
    base_url: str
    portal_name: str

    def portal_url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def sign_in_url(self, business_id: str, livemode: bool) -> str:
        """The business's sign-in page, where an email's reader gets into their portal."""
        return self.portal_url(f"{'' if livemode else '/test'}/login/{business_id}")
