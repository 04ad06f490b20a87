"""Credentials: merchant API keys, sign-in and magic-link tokens, portal sessions, rate-limit buckets.

No secret is stored: only the SHA-256 hash of each token or key.
"""

from typing import TYPE_CHECKING, Any

from tortoise import fields

from models.base import Timestamped, id_field
from models.enums import LoginTokenKind, Scope

if TYPE_CHECKING:
    from models.business import Business, PortalConfiguration
    from models.customer import Customer


class ApiKey(Timestamped):
    id = id_field("key")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField("portal.Business", related_name="api_keys")
    business_id: str
    livemode = fields.BooleanField()
    name = fields.CharField(max_length=200, default="")
    secret_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=24)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"


class LoginToken(Timestamped):
    """A one-time sign-in link (emailed on request) or magic link (created by the merchant)."""

    id = id_field("ltk")
    token_hash = fields.CharField(max_length=64, unique=True)
    kind = fields.CharEnumField(LoginTokenKind, max_length=16)
    scope = fields.CharEnumField(Scope, max_length=16)
    livemode = fields.BooleanField()
    email = fields.CharField(max_length=254)
    business: fields.ForeignKeyNullableRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="login_tokens", null=True
    )
    business_id: str | None
    customer: fields.ForeignKeyNullableRelation["Customer"] = fields.ForeignKeyField(
        "portal.Customer", related_name="login_tokens", null=True
    )
    customer_id: str | None
    configuration: fields.ForeignKeyNullableRelation["PortalConfiguration"] = fields.ForeignKeyField(
        "portal.PortalConfiguration", related_name="login_tokens", null=True
    )
    configuration_id: str | None
    return_url = fields.CharField(max_length=1000, default="")
    locale = fields.CharField(max_length=16, default="")
    # A deep link's task and what follows it (access.deep_links), carried over to the session it opens.
    flow: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    # The API key a merchant made the magic link with: revoking the key ends the link and what it opened.
    minted_by: fields.ForeignKeyNullableRelation["ApiKey"] = fields.ForeignKeyField(
        "portal.ApiKey", related_name="minted_links", null=True
    )
    minted_by_id: str | None
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "login_token"


class PortalSession(Timestamped):
    """A signed-in customer. BUSINESS scope names one customer, UNIFIED scope names an email."""

    id = id_field("ps")
    token_hash = fields.CharField(max_length=64, unique=True)
    scope = fields.CharEnumField(Scope, max_length=16)
    livemode = fields.BooleanField()
    email = fields.CharField(max_length=254)
    business: fields.ForeignKeyNullableRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="portal_sessions", null=True
    )
    business_id: str | None
    customer: fields.ForeignKeyNullableRelation["Customer"] = fields.ForeignKeyField(
        "portal.Customer", related_name="portal_sessions", null=True
    )
    customer_id: str | None
    configuration: fields.ForeignKeyNullableRelation["PortalConfiguration"] = fields.ForeignKeyField(
        "portal.PortalConfiguration", related_name="portal_sessions", null=True
    )
    configuration_id: str | None
    return_url = fields.CharField(max_length=1000, default="")
    locale = fields.CharField(max_length=16, default="")
    flow: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    # Set on a Bearer token a merchant minted for a GraphQL client (not a browser sign-in).
    minted_by: fields.ForeignKeyNullableRelation["ApiKey"] = fields.ForeignKeyField(
        "portal.ApiKey", related_name="minted_sessions", null=True
    )
    minted_by_id: str | None
    # The sign-in or magic link that opened the session, if one did.
    link: fields.ForeignKeyNullableRelation["LoginToken"] = fields.ForeignKeyField(
        "portal.LoginToken", related_name="sessions", null=True
    )
    link_id: str | None
    last_seen_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "portal_session"


class EmailChangeToken(Timestamped):
    """A one-use link, sent to `new_email`, that moves the requesting session's customer records from `old_email`."""

    id = id_field("ect")
    token_hash = fields.CharField(max_length=64, unique=True)
    scope = fields.CharEnumField(Scope, max_length=16)
    livemode = fields.BooleanField()
    old_email = fields.CharField(max_length=254)
    new_email = fields.CharField(max_length=254)
    session: fields.ForeignKeyNullableRelation["PortalSession"] = fields.ForeignKeyField(
        "portal.PortalSession", related_name="email_change_tokens", null=True, on_delete=fields.SET_NULL
    )
    session_id: str | None
    customer: fields.ForeignKeyNullableRelation["Customer"] = fields.ForeignKeyField(
        "portal.Customer", related_name="email_change_tokens", null=True
    )
    customer_id: str | None
    locale = fields.CharField(max_length=16, default="")
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "email_change_token"


class EmailCode(Timestamped):
    """A 6-digit sign-in code for apps without a browser: emailed on request, exchanged once for a Bearer token.
    BUSINESS scope when `business` is set, UNIFIED otherwise."""

    id = id_field("ecd")
    code_hash = fields.CharField(max_length=64)
    livemode = fields.BooleanField()
    email = fields.CharField(max_length=254)
    business: fields.ForeignKeyNullableRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="email_codes", null=True
    )
    business_id: str | None
    attempts = fields.IntField(default=0)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "email_code"
        indexes = (("email", "livemode", "created_at"),)


class EmailCodeBudget(Timestamped):
    """The wrong sign-in codes typed for one email in one mode, through any business or the unified portal, since
    `since`; once they are too many, code sign-in for the email is paused until `paused_until`."""

    id = fields.BigIntField(primary_key=True)
    email = fields.CharField(max_length=254)
    livemode = fields.BooleanField()
    failures = fields.IntField(default=0)
    since = fields.DatetimeField()
    paused_until = fields.DatetimeField(null=True)

    class Meta:
        table = "email_code_budget"
        unique_together = (("email", "livemode"),)


class RateLimitBucket(Timestamped):
    """Hits of one key (say `signin:email:…`) in one fixed window, shared by every process."""

    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=300)
    window_start = fields.DatetimeField()
    hits = fields.IntField(default=0)

    class Meta:
        table = "rate_limit_bucket"
        unique_together = (("key", "window_start"),)
