"""What every merchant resolver knows about its request: the authenticated API key (one business in one mode), the
deployment values links and their emails are built from, the payment processor (for charges and refunds), the TXT
lookup (for custom domains' checks), the request's id (for the log line of an unexpected error) and its
dataloaders."""

from dataclasses import dataclass, field

from access.rate_limits import MerchantEmailLimits
from billing.context import BillingContext
from merchants.domain_verification import TxtLookup, dns_txt_lookup
from models import ApiKey
from schema.merchant.loaders import MerchantLoaders


@dataclass(frozen=True)
class MerchantContext:
    api_key: ApiKey
    base_url: str
    portal_name: str
    magic_link_seconds: int
    access_token_seconds: int
    request_id: str
    billing: BillingContext
    # What seals an emailed link in the outbox, and how many emails the merchant may have sent on demand.
    secret_key: str = field(repr=False)
    email_limits: MerchantEmailLimits
    # PORTAL_WEBHOOKS_ALLOW_PRIVATE: endpoints on loopback and private addresses, for test mode and development.
    webhooks_allow_private: bool = False
    # How a custom domain's TXT record is looked up (a stub in tests).
    txt_lookup: TxtLookup = dns_txt_lookup
    # Fresh per request, as the context is: what a list's nodes ask about their own rows, a page at a time.
    loaders: MerchantLoaders = field(default_factory=MerchantLoaders)

    @property
    def business_id(self) -> str:
        return self.api_key.business_id

    @property
    def livemode(self) -> bool:
        return self.api_key.livemode
