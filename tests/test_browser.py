"""The portal in a real browser (Playwright driving Debian's chromium), served as an operator runs it
(tests/support/browser.py): signing in with the emailed link, what a customer must act on about their money (the
Action needed banner, a renewal being retried, the confirmation before a charge, an expired card), the on-hold
subscription paid with a card added on the processor's hosted page, cancelling and resuming, and a charged plan change.

The three tests that only sign in and read share one served portal; the three that change a subscription have one
each. Screenshots go to a temporary folder; `PORTAL_REFRESH_SCREENSHOTS=1` writes them to docs/screenshots/ instead,
with the main pages in six languages and the money states in three. Skipped when chromium or Playwright is missing (a
failure under CI).
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.support.browser import CARD_NUMBER, fill_in_test_card, require_browser, sign_in_by_email
from tests.support.portal import Mailbox, html_of, text_of

require_browser()

BUSINESS = "bus_demo_northwind"
# Every script direction and the languages whose words run longest or widest.
SCREENSHOT_LOCALES = ("en", "ar", "he", "ja", "zh-Hans", "de")
# The money states: left to right, right to left, and a script of its own; each writes these amounts alike.
MONEY_LOCALES = ("en", "ar", "ja")
RIGHT_TO_LEFT = {"ar", "he"}
# A check of what a page shows, in whichever language it is in.
Shows = Callable[[Any], Awaitable[None]]


async def in_languages(
    page,
    base_url: str,
    screenshots,
    name: str,
    path: str,
    locales: tuple[str, ...] = SCREENSHOT_LOCALES,
    shows: Shows | None = None,
) -> None:
    """The page at `path` in each of `locales`: in the language asked for, running in its direction, showing what
    `shows` checks, and saved as `{name}-{locale}.png` (the picture docs/screenshots/ shows)."""
    for locale in locales:
        await page.goto(f"{base_url}{path}{'&' if '?' in path else '?'}locale={locale}")
        assert await page.get_attribute("html", "lang") == locale
        assert await page.get_attribute("html", "dir") == ("rtl" if locale in RIGHT_TO_LEFT else "ltr")
        if shows:
            await shows(page)
        await screenshots.save(page, f"{name}-{locale}.png")


async def test_a_customer_signs_in_with_the_emailed_link(reading_portal, browser_page, mailbox_for_module, screenshots):
    page, base_url, mailbox = browser_page, reading_portal.base_url, mailbox_for_module
    seen = len(mailbox.messages)
    console_errors = []  # a blocked stylesheet or inline style (CSP) shows up here
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    await page.goto(f"{base_url}/login/{BUSINESS}")
    assert await page.title() == "Sign in · Northwind Analytics"

    await sign_in_by_email(page, mailbox)
    assert page.url == f"{base_url}/"
    subscriptions = await page.inner_text("section[aria-labelledby=subscriptions-title]")
    assert "Team" in subscriptions and "Active" in subscriptions
    assert "Northwind Analytics" in await page.inner_text(".topbar")

    await page.goto(f"{base_url}/?locale=ar")
    assert await page.get_attribute("html", "dir") == "rtl"
    assert "الاشتراكات" in await page.inner_text("main")

    await page.click(".account button[type=submit]")
    await page.wait_for_url(f"{base_url}/login/{BUSINESS}?signed_out=1")
    assert await page.get_attribute("html", "lang") == "ar"

    await page.goto(f"{base_url}/login?locale=en")
    await sign_in_by_email(page, mailbox)
    groups = await page.inner_text("main")
    assert all(name in groups for name in ("Northwind Analytics", "Atelier Lumière", "Sakura Fonts"))
    assert console_errors == []

    # A blank page of its own, so the portal's CSP does not apply to the email's inline styles.
    email = await page.context.new_page()
    await email.set_viewport_size({"width": 720, "height": 640})
    await email.set_content(html_of(mailbox.messages[seen]))
    await screenshots.save(email, "email-sign-in-en.png")

    served = reading_portal.log.read_text()
    assert "GET /session/[redacted]" in served
    assert not any(link.rsplit("/", 1)[1] in served for link in mailbox.links())


async def test_the_main_pages_speak_each_language_in_its_direction(
    reading_portal, browser_page, mailbox_for_module, screenshots
):
    """Sign-in, both portal homes, a subscription, the billing history and the profile in six languages: each page
    is in the language asked for and runs in its direction (and is the picture docs/screenshots/ shows)."""
    page, base_url, mailbox = browser_page, reading_portal.base_url, mailbox_for_module

    async def in_each_language(name: str, path: str, shows: Shows | None = None) -> None:
        await in_languages(page, base_url, screenshots, name, path, shows=shows)

    await in_each_language("login", f"/login/{BUSINESS}")
    await page.goto(f"{base_url}/login/{BUSINESS}?locale=en")
    await sign_in_by_email(page, mailbox)
    await in_each_language("portal", "/")
    await page.get_by_role("link", name="Team", exact=True).click()
    await in_each_language("subscription", page.url.removeprefix(base_url))
    await in_each_language("billing-history", "/billing-history")
    await in_each_language("profile", "/profile")

    await page.goto(f"{base_url}/login?locale=en")
    await sign_in_by_email(page, mailbox)
    await in_each_language("portal-unified", "/", shows=banner_first)


async def banner_first(page) -> None:
    """The Action needed banner opens the unified home: Sakura Fonts' on-hold and past-due subscriptions, each with
    its Pay now, and the one whose first payment failed with its Try again."""
    banner = page.locator("section.attention")
    assert await banner.is_visible()
    assert await page.locator("main section.panel").first.evaluate("panel => panel.classList.contains('attention')")
    assert await banner.locator("a[href$='#reactivate-title']").count() == 2
    assert await banner.locator("a[href$='#again-title']").count() == 1
    words = await banner.inner_text()
    assert all(name in words for name in ("Library Personal", "Library Studio", "Sakura Fonts"))


async def test_what_a_customer_must_act_on_about_their_money(
    reading_portal, browser_page, mailbox_for_module, screenshots
):
    """In the unified portal, in English, Arabic and Japanese: the banner's words, a renewal being retried (past due,
    with the amount due and Pay now), the confirmation before unpausing (what is charged), and the saved cards with
    the expired one marked and every card's network named."""
    page, base_url = browser_page, reading_portal.base_url
    await page.goto(f"{base_url}/login?locale=en")
    await sign_in_by_email(page, mailbox_for_module)
    banner = await page.inner_text("section.attention")
    assert "Action needed" in banner and "¥4,980 owed to Sakura Fonts. We will try your card again on" in banner
    past_due, paused = [
        await page.get_by_role("link", name=name, exact=True).first.get_attribute("href")
        for name in ("Library Studio", "Warehouse sync add-on")
    ]

    async def pay_now_of_the_renewal(page) -> None:
        section = page.locator("section[aria-labelledby=reactivate-title]")
        assert "4,980" in await section.locator(".owed").inner_text()
        assert await section.locator("form.form-stack button[type=submit]").is_visible()

    await in_languages(
        page, base_url, screenshots, "subscription-past-due", past_due, MONEY_LOCALES, pay_now_of_the_renewal
    )
    await page.goto(f"{base_url}{past_due}?locale=en")
    assert "Pay now" in await page.inner_text("section[aria-labelledby=reactivate-title]")

    async def the_charge(page) -> None:
        assert await page.locator("form input[name=confirmed]").count() == 1
        assert "16.54" in await page.inner_text("main")

    await in_languages(page, base_url, screenshots, "confirm-unpause", f"{paused}/unpause", MONEY_LOCALES, the_charge)

    async def the_expired_card_and_the_marks(page) -> None:
        expired = page.locator("li.row", has_text="•••• 4444")
        assert await expired.locator(".badge.bad").is_visible()
        for network in ("Visa", "Mastercard", "JCB"):
            assert await page.get_by_role("img", name=network, exact=True).first.is_visible()

    await in_languages(
        page,
        base_url,
        screenshots,
        "payment-methods",
        "/payment-methods",
        MONEY_LOCALES,
        the_expired_card_and_the_marks,
    )
    await page.goto(f"{base_url}/payment-methods?locale=en")
    assert "Expired" in await page.inner_text("li.row:has-text('•••• 4444')")


async def test_ada_reactivates_her_on_hold_subscription_with_a_card_added_on_the_hosted_page(
    portal_server, browser_page, mailbox, screenshots
):
    page, base_url = browser_page, portal_server.base_url
    await page.goto(f"{base_url}/login/bus_demo_sakura")
    await sign_in_by_email(page, mailbox)
    await page.click("a:has-text('Library Personal')")
    await page.wait_for_selector("#reactivate-title")
    assert "¥980" in await page.inner_text("main")
    await screenshots.save(page, "subscription-on-hold-en.png")

    await page.goto(f"{page.url}?locale=ar")
    assert await page.get_attribute("html", "dir") == "rtl"
    await screenshots.save(page, "subscription-on-hold-ar.png")
    await page.goto(page.url.replace("locale=ar", "locale=en"))

    await page.click("form.add-card button[type=submit]")
    await page.wait_for_url(f"{base_url}/sandbox/setup/*")
    await fill_in_test_card(page)
    await screenshots.save(page, "sandbox-add-card-en.png")
    await page.click("form.card-form button[type=submit]")
    await page.wait_for_selector("#reactivate-title")
    await page.click("form.form-stack button[type=submit]")

    await page.wait_for_url(f"{base_url}/subscriptions/*/reactivated*")
    confirmation = await page.inner_text("main")
    assert "SF-" in confirmation and "¥980" in confirmation
    await screenshots.save(page, "reactivated-en.png")
    await page.goto(f"{page.url}&locale=ar")
    await screenshots.save(page, "reactivated-ar.png")

    # The sign-in link, then one email: active again, with the receipt.
    receipts = [message for message in await wait_for_emails(mailbox, 2) if "980" in text_of(message)]
    assert len(receipts) == 1, "no receipt email arrived, or more than one"
    stored = (portal_server.database.read_bytes(), portal_server.log.read_text())
    for number in (CARD_NUMBER, CARD_NUMBER.replace(" ", "")):
        assert number.encode() not in stored[0] and number not in stored[1]


async def wait_for_emails(mailbox: Mailbox, count: int) -> list:
    for _ in range(100):
        if len(mailbox.messages) >= count:
            return mailbox.messages
        await asyncio.sleep(0.1)
    pytest.fail(f"{count} emails did not arrive")


async def open_subscription(page, base_url: str, mailbox: Mailbox, business_id: str, product: str) -> None:
    """Sign Ada in to a business's portal and open her subscription to `product`."""
    await page.goto(f"{base_url}/login/{business_id}")
    await sign_in_by_email(page, mailbox)
    await page.get_by_role("link", name=product, exact=True).click()
    await page.wait_for_selector("#details-title")


async def resume(page) -> None:
    """Resume, through its confirmation, which says what the renewal will charge and when."""
    await page.click("a:has-text('Resume')")
    await page.wait_for_selector("text=is charged on")
    await page.click("main button:has-text('Resume')")
    await page.wait_for_selector("text=Your subscription continues.")


async def test_ada_resumes_cancels_and_resumes_her_studio_subscription(
    portal_server, browser_page, mailbox, screenshots
):
    """At Atelier Lumière her Studio subscription is already set to end with its period."""
    page, base_url = browser_page, portal_server.base_url
    await open_subscription(page, base_url, mailbox, "bus_demo_lumiere", "Studio")
    subscription_url = page.url
    assert "Cancels on" in await page.inner_text("main")

    await resume(page)
    await page.click("a:has-text('Cancel subscription')")
    await page.wait_for_selector("#cancel-title")
    await page.check("input[name=reason][value=UNUSED]")
    await page.fill("#comment", "Back in the spring.")
    await screenshots.save(page, "cancel-flow-en.png")
    await page.click("button.danger")

    await page.wait_for_url(f"{subscription_url}/cancelled")
    assert "You keep access until" in await page.inner_text(".page-intro")
    await page.click("a:has-text('View subscription')")
    await resume(page)
    assert "Cancels on" not in await page.inner_text("main")

    await page.goto(f"{subscription_url}/cancel?locale=ar")
    assert await page.get_attribute("html", "dir") == "rtl"
    await page.check("input[name=reason][value=TOO_EXPENSIVE]")
    await screenshots.save(page, "cancel-flow-ar.png")


async def test_ada_previews_and_confirms_an_upgrade_to_business(portal_server, browser_page, mailbox, screenshots):
    page, base_url = browser_page, portal_server.base_url
    await open_subscription(page, base_url, mailbox, BUSINESS, "Team")
    await page.click("a:has-text('Change plan')")
    await page.check("label.choice:has-text('Business') input")
    await page.click("button:has-text('See the price')")

    await page.wait_for_selector("#preview-title")
    charge = await page.inner_text(".charge")
    assert charge.startswith("$") and charge != "$0.00"
    await screenshots.save(page, "plan-preview-en.png")
    preview_url = page.url
    await page.goto(f"{preview_url}&locale=ar")
    assert await page.get_attribute("html", "dir") == "rtl"
    await screenshots.save(page, "plan-preview-ar.png")
    await page.goto(f"{preview_url}&locale=en")

    await page.click("button:has-text('Confirm')")
    await page.wait_for_url(f"{base_url}/subscriptions/*/plan-changed*")
    receipt = await page.inner_text("main")
    assert "NW-" in receipt and charge in receipt and "Business" in receipt
    await screenshots.save(page, "plan-changed-en.png")
