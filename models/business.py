"""A business that sells through the platform, with its branding and its portal configurations."""

from typing import Any

from tortoise import fields

from models.base import Timestamped, id_field
from models.enums import CustomDomainStatus


class Business(Timestamped):
    """A merchant. Not customer-owned: it exists in both modes."""

    id = id_field("bus")
    name = fields.CharField(max_length=200)
    support_email = fields.CharField(max_length=254)
    address_line1 = fields.CharField(max_length=200, default="")
    address_line2 = fields.CharField(max_length=200, default="")
    address_city = fields.CharField(max_length=100, default="")
    address_state = fields.CharField(max_length=100, default="")
    address_postal_code = fields.CharField(max_length=20, default="")
    address_country = fields.CharField(max_length=2, default="")
    logo_url = fields.CharField(max_length=500, default="")
    icon_url = fields.CharField(max_length=500, default="")
    primary_color = fields.CharField(max_length=7, default="#1f2937")
    accent_color = fields.CharField(max_length=7, default="#2563eb")
    headline = fields.CharField(max_length=300, default="")
    website_url = fields.CharField(max_length=500, default="")
    default_return_url = fields.CharField(max_length=500, default="")
    allow_subscription_updates = fields.BooleanField(default=False)
    allow_subscription_cancellation = fields.BooleanField(default=True)
    invoice_prefix = fields.CharField(max_length=12, default="INV")
    # Tax charged on top of (or, for tax-inclusive prices, included in) every price, in basis points.
    tax_rate_bp = fields.IntField(default=0)
    # The business's own tax number (a VAT number in the EU), printed under the seller on its invoices.
    tax_id = fields.CharField(max_length=50, default="", db_default="")
    # Origins (`https://app.example`) whose pages may call the customer GraphQL endpoint from a browser.
    cors_origins: fields.JSONField[list[str]] = fields.JSONField(default=list)

    class Meta:
        table = "business"


class CustomDomain(Timestamped):
    """A business's claim to a hostname of its own (`billing.example.com`), verified by a DNS TXT record.

    Pending until a TXT record carrying `verification_token` proves the business controls the domain; only then
    verified, serving the business's branded portal and used in its links."""

    id = id_field("dom")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="custom_domains"
    )
    business_id: str
    hostname = fields.CharField(max_length=253, db_index=True)
    # `hostname` once verified, NULL while pending: its unique index lets one business alone hold a hostname
    # verified, while pending claims of other businesses wait beside it without blocking it.
    verified_hostname = fields.CharField(max_length=253, null=True, unique=True)
    verification_token = fields.CharField(max_length=64)
    verified_at = fields.DatetimeField(null=True)
    last_checked_at = fields.DatetimeField(null=True)
    # When the worker looks for the TXT record of a pending claim next; NULL once verified.
    next_check_at = fields.DatetimeField(null=True, db_index=True)
    # A pending claim still unproven then is dropped; NULL once verified.
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "custom_domain"
        unique_together = (("business", "hostname"),)

    @property
    def status(self) -> CustomDomainStatus:
        return CustomDomainStatus.PENDING if self.verified_hostname is None else CustomDomainStatus.VERIFIED


class PortalConfiguration(Timestamped):
    """How one business's portal behaves in one mode. One of them is the default."""

    id = id_field("bpc")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="portal_configurations"
    )
    business_id: str
    livemode = fields.BooleanField()
    is_default = fields.BooleanField(default=False)
    name = fields.CharField(max_length=200, default="")
    headline = fields.CharField(max_length=300, default="")
    # Its feature blocks as merchants.features stores them; a block or setting left out takes that module's default.
    features: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    privacy_policy_url = fields.CharField(max_length=500, default="")
    terms_of_service_url = fields.CharField(max_length=500, default="")
    default_return_url = fields.CharField(max_length=500, default="")

    class Meta:
        table = "portal_configuration"
        indexes = (("business_id", "livemode", "is_default"),)
