"""What a business's (or anyone's) values can do to an email: nothing. Every value is escaped in every email's HTML
and kept as typed in its plain text; the From address is the portal's whatever the business is called; a business
named before line breaks and control characters were refused (tests/test_business_cli.py,
tests/test_merchant_settings.py) still gets its emails out."""

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage as MimeMessage
from email.utils import getaddresses

import pytest

from core.email_outbox import branding_context, sender_name
from gateway.settings import Settings
from gateway.worker.mailer import compose_email
from models import Business, EmailMessage
from tests.support.emails import DETAILS
from tests.support.portal import html_of, text_of

SETTINGS = Settings(base_url="https://portal.example", secret_key="test-secret-key", mail_from="portal@mail.example")
MOMENT = datetime(2031, 3, 5, 12, tzinfo=UTC)
HOSTILE = "Evil <b>x</b>"
# The details of every email kind, each value carrying markup, as the code that queues it would write them.
CONTEXTS: dict[str, dict] = {
    **{template: {**details, "customer_name": HOSTILE} for template, details in DETAILS.items()},
    "sign_in": {"expires_minutes": 15},
    "magic_link": {"expires_minutes": 1440},
    "email_code": {"code": "123456", "expires_minutes": 10},
    "email_change": {"new_email": "<b>x</b>@example.com", "expires_minutes": 60},
    "email_changed": {
        "old_email": "ada@example.com",
        "new_email": "<b>x</b>@example.com",
        "businesses": [{"name": HOSTILE, "support_email": "help@evil.example"}],
    },
    "webhook_endpoint_disabled": {
        "endpoint_id": "whk_<b>x</b>",
        "endpoint_url": "https://hooks.example/in?<b>x</b>",
        "failing_since": MOMENT.isoformat(),
        "disabled_at": MOMENT.isoformat(),
    },
}


def composed(business: Business, template: str, details: dict | None = None, **row: object) -> MimeMessage:
    """The email as the worker sends it, from a row shaped as the code that queues it makes one."""
    message = EmailMessage(
        id="eml_test",
        to_email="ada@example.com",
        template=template,
        context={
            **branding_context(business, "Customer Portal", True),
            "link": "https://portal.example/session/cpl_x",
            **(CONTEXTS[template] if details is None else details),
        },
        locale="en",
        livemode=True,
        from_name=sender_name(business, "Customer Portal"),
        reply_to=business.support_email,
        created_at=MOMENT,
        next_attempt_at=MOMENT,
        **row,
    )
    return compose_email(message, SETTINGS)


def business_named(name: str) -> Business:
    return Business(id="bus_evil", name=name, support_email="help@evil.example", primary_color="#0b3d91")


def as_received(mime: MimeMessage) -> MimeMessage:
    """The message as a receiving mail client parses it from the bytes on the wire."""
    return message_from_bytes(mime.as_bytes(policy=policy.SMTP), policy=policy.default)


def raw_header(mime: MimeMessage, name: str) -> str:
    """A header as written on the wire, unfolded but not decoded."""
    return message_from_bytes(mime.as_bytes(policy=policy.SMTP), policy=policy.compat32)[name]


# --- every value escaped in HTML ----------------------------------------------------------------------------------


@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_a_business_name_with_markup_is_escaped_in_every_emails_html(template: str) -> None:
    message = composed(business_named(HOSTILE), template)

    html = html_of(message)
    assert "<b>" not in html
    assert "Evil &lt;b&gt;x&lt;/b&gt;" in html
    assert HOSTILE in text_of(message)  # plain text shows the name as typed, no entities


# --- From: always the portal's address ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        '"security@bank.example" <security@bank.example>',
        "Bank, Inc. <security@bank.example>",
        'Quote " and \\ backslash <security@bank.example>',
        "security@bank.example",
        "Ünïcode <security@bank.example>",
        "=?utf-8?q?=3Csecurity=40bank=2Eexample=3E?=",
        "=?utf-8?b?PHNlY3VyaXR5QGJhbmsuZXhhbXBsZT4=?= Bank",
        "Acme (security@bank.example)",
    ],
)
def test_no_business_name_changes_the_from_address(name: str) -> None:
    message = composed(business_named(name), "sign_in")

    [address] = as_received(message)["From"].addresses
    assert address.addr_spec == "portal@mail.example"
    # The name as typed, or, when even that would not read back intact, the portal's alone.
    assert address.display_name.replace("\u2060", "") in {f"{name} via Customer Portal", "Customer Portal"}
    assert [pair[1] for pair in getaddresses([raw_header(message, "From")])] == ["portal@mail.example"]


ENCODED_BCC = "=?utf-8?q?Acme=0D=0ABcc=3A_victim=40evil=2Eexample?="


@pytest.mark.parametrize("template", ["sign_in", "payment_receipt", "subscription_on_hold"])
def test_no_name_adds_a_header_through_the_subject(template: str) -> None:
    # An RFC 2047 word hiding a line break, as a business's name and as a product's name.
    details = {**CONTEXTS[template], "product_name": ENCODED_BCC}

    received = as_received(composed(business_named(ENCODED_BCC), template, details))

    assert received["Bcc"] is None
    # Shown as typed: a word joiner after "=" keeps mail clients from decoding it.
    assert ENCODED_BCC in received["Subject"].replace("\u2060", "")


@pytest.mark.parametrize("name", ["Acme\nBcc: victim@example.com", "Acme\r\nX-Evil: 1", "Acme\x00Tools"])
def test_a_business_named_before_names_were_checked_still_gets_its_emails_out(name: str) -> None:
    business = business_named(name)

    received = as_received(composed(business, "payment_receipt"))

    assert received["From"].addresses[0].addr_spec == "portal@mail.example"
    assert received["Bcc"] is None and received["X-Evil"] is None
    assert "See your invoices" in text_of(received)


def test_a_support_email_that_is_not_one_address_leaves_reply_to_out() -> None:
    business = business_named("Acme")
    business.support_email = "help@acme.example>, <evil@x.example"

    received = as_received(composed(business, "sign_in"))

    assert received["Reply-To"] is None
    assert received["From"].addresses[0].addr_spec == "portal@mail.example"
