"""In chromium, on a served portal whose demo business connected Stripe (localstripe and its Stripe.js standing in):
Ada adds a card that needs 3-D Secure in Stripe's card field, then reactivates her on-hold subscription, confirming
the payment with her bank on the portal's Stripe.js page. The card number never reaches the portal."""

import subprocess

from tests.support.browser import PORTAL_CLI, require_browser, serve_demo_portal, sign_in_by_email

require_browser()

CARD = "4000002760003184"  # Stripe's test card that always asks for 3-D Secure


def connect_stripe(server) -> None:
    """The operator connects the demo business's Stripe account (live keys: the demo data is live)."""
    connected = subprocess.run(
        [
            *PORTAL_CLI,
            "business",
            "update",
            "bus_demo_sakura",
            "--stripe-secret-key",
            "sk_live_browser0000",
            "--stripe-publishable-key",
            "pk_live_browser0000",
            "--stripe-webhook-secret",
            "whsec_browser0000",
        ],
        cwd=server.directory,
        env=server.environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert connected.returncode == 0, connected.stderr


async def type_card_into_stripes_field(page) -> None:
    """localstripe's Stripe.js fakes the card Element with plain inputs named by their placeholders."""
    for placeholder, value in (("number", CARD), ("exp_month", "12"), ("exp_year", "34"), ("cvc", "123")):
        await page.fill(f"#card-element input[placeholder={placeholder}]", value)
    await page.fill("#card-element input[placeholder=postal_code]", "10115")


async def test_ada_adds_a_3d_secure_card_in_stripes_field_and_reactivates_with_her_bank(
    tmp_path, mailbox, demo_sqlite_template, browser_page, stripe_server, stripe_api, screenshots
):
    settings = {"PORTAL_STRIPE_API_BASE": stripe_server, "PORTAL_STRIPE_JS_URL": f"{stripe_server}/js.stripe.com/v3/"}
    with serve_demo_portal(tmp_path, mailbox, demo_sqlite_template, **settings) as server:
        connect_stripe(server)
        page, base_url = browser_page, server.base_url
        await page.goto(f"{base_url}/login/bus_demo_sakura")
        await sign_in_by_email(page, mailbox)
        await page.click("a:has-text('Library Personal')")
        await page.wait_for_selector("#reactivate-title")

        await page.click("form.add-card button[type=submit]")
        await page.wait_for_url(f"{base_url}/stripe/setup/**")
        await type_card_into_stripes_field(page)
        await screenshots.save(page, "stripe-add-card-en.png")
        await page.click("#stripe-card button[type=submit]")
        await page.click("button:has-text('Complete authentication')")
        await page.wait_for_selector("#reactivate-title")
        assert "3184" in await page.inner_text("main")

        await page.click("form.form-stack button[type=submit]")
        await page.wait_for_url(f"{base_url}/stripe/authenticate/**")
        await page.click("#stripe-card button[type=submit]")
        await page.click("button:has-text('Complete authentication')")
        await page.wait_for_url(f"{base_url}/subscriptions/*/reactivated*")
        assert "¥980" in await page.inner_text("main")

        intents = (await stripe_api.v1.payment_intents.list_async(params={"limit": 100})).data
        assert [(intent.status, intent.amount, intent.currency) for intent in intents] == [("succeeded", 980, "jpy")]
        assert CARD.encode() not in server.database.read_bytes() and CARD not in server.log.read_text()
