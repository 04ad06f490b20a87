"""The billing emails as the customer reads them: a receipt, a failed payment, a subscription on hold, one
reactivated, a cancellation confirmed and a plan changed, each rendered from the context billing.notifications queues,
in English and in Arabic (right to left, amounts and dates as Babel writes them there)."""

from datetime import UTC, datetime
from email.message import EmailMessage as MimeMessage

import pytest

from core.email_outbox import branding_context
from core.i18n import SUPPORTED_LOCALES
from gateway.settings import Settings
from gateway.worker.mailer import compose_email
from models import Business, EmailMessage
from tests.support.emails import DETAILS
from tests.support.portal import html_of, text_of

SIGN_IN_LINK = "http://127.0.0.1:8000/login/bus_sakura"


def billing_email(
    template: str, locale: str = "en", *, livemode: bool = True, without: tuple[str, ...] = (), **changes: object
) -> MimeMessage:
    """The email as the worker would send it, from a context shaped as billing.notifications.Notifier makes it
    (less the details named in `without`, as an older Notifier made it)."""
    business = Business(
        id="bus_sakura",
        name="Sakura Fonts",
        support_email="help@sakura.example",
        primary_color="#0b3d91",
        logo_url="https://cdn.example/logo.png",
    )
    context = {
        **branding_context(business, "Customer Portal", livemode),
        "customer_name": "Ada Lovelace",
        "link": SIGN_IN_LINK,
        **{key: value for key, value in DETAILS[template].items() if key not in without},
        **changes,
    }
    message = EmailMessage(
        to_email="ada@example.com",
        template=template,
        context=context,
        locale=locale,
        livemode=livemode,
        from_name="Sakura Fonts via Customer Portal",
        reply_to="help@sakura.example",
        created_at=datetime(2031, 3, 5, 12, tzinfo=UTC),
        next_attempt_at=datetime(2031, 3, 5, 12, tzinfo=UTC),
    )
    settings = Settings(base_url="http://127.0.0.1:8000", secret_key="test-secret-key", mail_from="portal@example.com")
    return compose_email(message, settings)


@pytest.mark.parametrize(
    ("template", "subject", "lines", "button"),
    [
        (
            "payment_receipt",
            "Your receipt from Sakura Fonts (SF-0042)",
            [
                "Sakura Fonts received your payment of ¥980 for Pro plan.",
                "Amount paid: ¥980",
                "Paid on: March 5, 2031",
                "Invoice number: SF-0042",
                "Paid with: Visa •••• 4242",
            ],
            "See your invoices",
        ),
        (
            "payment_failed",
            "Your payment to Sakura Fonts did not go through",
            [
                "We could not take your payment of ¥980 for Pro plan.",
                "Your card has insufficient funds. Try another card.",
                "Your subscription is on hold until you pay. Open your account to pay with another card.",
                "Card: Mastercard •••• 4444",
            ],
            "Pay with another card",
        ),
        (
            "subscription_on_hold",
            "Your subscription to Pro plan is on hold",
            [
                "Your subscription to Pro plan is on hold because its last payment did not go through.",
                "Amount due: ¥980",
            ],
            "Open your account",
        ),
        (
            "subscription_reactivated",
            "Your subscription to Pro plan is active again",
            [
                "Thank you: your subscription to Pro plan is active again.",
                "Sakura Fonts received your payment of ¥980 for Pro plan.",
                "Its next payment is on April 5, 2031.",
                "Amount paid: ¥980",
                "Paid on: March 5, 2031",
                "Invoice number: SF-0042",
                "Paid with: Visa •••• 4242",
            ],
            "See your invoices",
        ),
    ],
)
def test_each_billing_email_says_what_happened_and_links_to_the_account(template, subject, lines, button):
    message = billing_email(template)
    assert message["Subject"] == subject
    text, html = text_of(message), html_of(message)
    for line in lines:
        assert line in text
        assert line.rpartition(": ")[2] in html  # a detail's value, or the whole sentence
    assert f"{button}:\n{SIGN_IN_LINK}" in text
    assert f'href="{SIGN_IN_LINK}"' in html and f"{button}</a>" in html


def test_a_reactivation_queued_before_it_carried_its_receipt_still_says_it_is_active_again():
    receipt = ("amount", "currency", "invoice_number", "card_brand", "card_last4", "paid_at")
    text = text_of(billing_email("subscription_reactivated", without=receipt))
    assert "Thank you: your subscription to Pro plan is active again." in text and "Amount paid" not in text
    assert f"Open your account:\n{SIGN_IN_LINK}" in text


def test_a_receipt_without_card_details_leaves_the_card_out():
    text = text_of(billing_email("payment_receipt", card_brand="", card_last4=""))
    assert "Paid with" not in text and "••••" not in text


def test_arabic_billing_emails_read_right_to_left_with_amounts_and_dates_written_for_arabic():
    receipt = billing_email("payment_receipt", "ar")
    html = html_of(receipt)
    assert '<html lang="ar" dir="rtl">' in html
    assert "980\xa0JP¥" in html and "980\xa0JP¥" in text_of(receipt)
    assert "5 مارس 2031" in text_of(receipt)
    assert "text-align:left" in html  # values sit at the row's far (left) end

    reactivated = text_of(billing_email("subscription_reactivated", "ar"))
    assert "5 أبريل 2031" in reactivated


def test_a_french_receipt_reads_as_french_is_written():
    receipt = billing_email("payment_receipt", "fr", business_name="Atelier Lumière")
    assert receipt["Subject"] == "Votre reçu – Atelier Lumière (SF-0042)"
    assert "Montant payé\u00a0: " in text_of(receipt)


def test_a_product_name_cannot_inject_markup_into_the_html_email():
    html = html_of(billing_email("payment_failed", product_name="<b>Pro</b> & more"))
    assert "<b>Pro</b>" not in html
    assert "&lt;b&gt;Pro&lt;/b&gt; &amp; more" in html


def test_test_mode_billing_emails_say_so():
    message = billing_email("subscription_on_hold", livemode=False)
    assert "Test mode: nothing here is a real payment." in text_of(message)
    assert "Test mode: nothing here is a real payment." in html_of(message)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("template", DETAILS)
def test_every_billing_email_renders_in_every_language(template, locale):
    message = billing_email(template, locale)
    assert message["Subject"].strip()
    assert "Sakura Fonts" in text_of(message)
    assert SIGN_IN_LINK in html_of(message)


def test_a_cancellation_says_until_when_access_lasts_and_that_it_can_still_be_resumed():
    message = billing_email("cancellation_confirmed")
    assert message["Subject"] == "Your subscription to Pro plan is cancelled"
    text, html = text_of(message), html_of(message)
    for line in [
        "Your subscription to Pro plan is cancelled. You keep access until April 5, 2031.",
        "Nothing more will be charged for it.",
        "Changed your mind? Until April 5, 2031, you can resume it from your account.",
        "Access until: April 5, 2031",
    ]:
        assert line in text
        assert line.rpartition(": ")[2] in html
    assert "It ended" not in text and "Ended on" not in text
    assert f"Open your account:\n{SIGN_IN_LINK}" in text
    assert f'href="{SIGN_IN_LINK}"' in html and "Open your account</a>" in html


def test_a_cancellation_that_took_effect_at_once_says_when_it_ended_and_offers_no_resuming():
    message = billing_email("cancellation_confirmed", ended=True)
    text, html = text_of(message), html_of(message)
    for line in [
        "Your subscription to Pro plan is cancelled. It ended on April 5, 2031.",
        "Nothing more will be charged for it.",
        "Ended on: April 5, 2031",
    ]:
        assert line in text
        assert line.rpartition(": ")[2] in html
    for absent in ("You keep access", "resume", "Access until"):
        assert absent not in text and absent not in html
    assert f'href="{SIGN_IN_LINK}"' in html and "Open your account</a>" in html


def test_a_charged_plan_change_gives_the_new_plan_its_price_and_the_receipt():
    message = billing_email("plan_changed")
    assert message["Subject"] == "Your plan is now Studio plan"
    text, html = text_of(message), html_of(message)
    for line in [
        "Your plan is now Studio plan × 3.",
        "From April 5, 2031 you pay ¥2,940 / month + tax, ¥3,234 with tax.",
        "We charged ¥1,960 for the change.",
        "Quantity: 3",
        "Price: ¥2,940 / month + tax",
        "Amount charged: ¥1,960",
        "Paid with: Visa •••• 4242",
        "Invoice number: SF-0043",
    ]:
        assert line in text
        assert line.rpartition(": ")[2] in html
    assert f"See your invoices:\n{SIGN_IN_LINK}" in text
    assert f'href="{SIGN_IN_LINK}"' in html and "See your invoices</a>" in html


def test_a_plan_change_with_nothing_charged_has_no_receipt():
    message = billing_email("plan_changed", quantity=1, amount=0, invoice_number="", card_brand="", card_last4="")
    text, html = text_of(message), html_of(message)
    assert "Your plan is now Studio plan." in text and "×" not in text and "Quantity" not in text
    assert "From April 5, 2031 you pay ¥2,940 / month + tax, ¥3,234 with tax." in text
    assert "Nothing was charged for the change." in text and "Nothing was charged for the change." in html
    for absent in ("We charged", "Amount charged", "Paid with", "Invoice number", "••••", "¥0", "See your invoices"):
        assert absent not in text and absent not in html
    assert f"Open your account:\n{SIGN_IN_LINK}" in text


@pytest.mark.parametrize(
    ("tax", "interval", "count", "says"),
    [
        ("INCLUDED", "YEAR", 1, "From April 5, 2031 you pay ¥2,940 / year incl. tax."),
        ("NONE", "MONTH", 3, "From April 5, 2031 you pay ¥2,940 every 3 months."),
    ],
)
def test_a_plan_change_says_the_price_with_its_interval_and_only_the_tax_there_is(tax, interval, count, says):
    price = {"amount": {"amount": 2940, "currency": "JPY"}, "intervalCount": count, "interval": interval, "tax": tax}
    text = text_of(billing_email("plan_changed", price=price, price_with_tax=2940))
    assert says in text and "with tax" not in text


def test_a_plan_change_email_queued_before_prices_had_their_interval_still_says_its_amount():
    message = billing_email("plan_changed", without=("price", "price_with_tax"))
    assert "From April 5, 2031 you pay ¥2,940 per billing period." in text_of(message)


def test_arabic_cancellation_and_plan_change_read_right_to_left_with_arabic_dates_and_amounts():
    for ended in (False, True):
        cancellation = billing_email("cancellation_confirmed", "ar", ended=ended)
        assert '<html lang="ar" dir="rtl">' in html_of(cancellation)
        assert "5 أبريل 2031" in text_of(cancellation) and "5 أبريل 2031" in html_of(cancellation)

    plan_change = billing_email("plan_changed", "ar")
    text, html = text_of(plan_change), html_of(plan_change)
    assert '<html lang="ar" dir="rtl">' in html
    assert "text-align:left" in html
    for written in ("5 أبريل 2031", "2,940\xa0JP¥", "1,960\xa0JP¥", "Visa •••• 4242", "SF-0043"):
        assert written in text and written in html

    uncharged = text_of(billing_email("plan_changed", "ar", amount=0, invoice_number="", card_brand="", card_last4=""))
    assert "2,940\xa0JP¥" in uncharged and "\u200f0\xa0JP¥" not in uncharged and "••••" not in uncharged
