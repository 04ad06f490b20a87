"""Deep links in a real browser: the demo portal served as an operator runs it (tests/support/browser.py), a
merchant's link made through the REST session endpoint with API keys from `portal api-key create`, and the customer
opening it in chromium. Each of the four flows opens on its task with the navigation hidden and is completed there;
each of the three after-completion behaviours is observed.

One server serves the whole module (migrating and seeding are the slow part); each test works on its own
subscription, so their order does not matter. Skipped when chromium or Playwright is missing (a failure under
CI).
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import (
    Merchants,
    fill_in_test_card,
    require_browser,
    serve_demo_portal,
    started_mailbox,
)

require_browser()

NORTHWIND, SAKURA = "bus_demo_northwind", "bus_demo_sakura"
ADA, GRACE = "ada@example.com", "grace@example.com"
SHOP_URL = "https://shop.example/account"


@pytest.fixture(scope="module")
def demo_portal(tmp_path_factory: pytest.TempPathFactory, demo_sqlite_template: Path) -> Iterator[Merchants]:
    """The demo portal, served for the whole module, with an API key for Northwind and Sakura."""
    directory = tmp_path_factory.mktemp("deep_links")
    with started_mailbox() as mailbox, serve_demo_portal(directory, mailbox, demo_sqlite_template) as server:
        yield Merchants.with_keys(server, (NORTHWIND, SAKURA))


async def open_on_task(page, link: str) -> None:
    """Open the link, confirm, and check the task's page wears the brand without the portal's navigation."""
    await page.goto(link)
    await page.click("form button[type=submit]")
    await page.wait_for_selector(".page-intro")
    assert await page.locator("a[href='/profile']").count() == 0
    assert await page.locator(".back-links").count() == 0
    assert await page.locator(".account form[action='/logout'] button").is_visible()


async def shop_site(page) -> None:
    """The merchant's own site, which the portal sends the customer back to."""
    await page.route(
        f"{SHOP_URL}**", lambda route: route.fulfill(body="<h1>Back at the shop</h1>", content_type="text/html")
    )


async def test_a_payment_method_link_saves_a_card_and_returns_to_the_full_portal(demo_portal, browser_page):
    page, base_url = browser_page, demo_portal.base_url
    link = demo_portal.deep_link(SAKURA, ADA, {"type": "payment_method_update"})

    await open_on_task(page, link)
    assert page.url == f"{base_url}/payment-methods"
    await page.click("form.add-card button[type=submit]")
    await page.wait_for_url(f"{base_url}/sandbox/setup/*")
    await fill_in_test_card(page)
    await page.click("form.card-form button[type=submit]")

    await page.wait_for_url(f"{base_url}/")
    assert await page.locator(".account a[href='/profile']").is_visible()
    assert "Subscriptions" in await page.inner_text("main")


async def test_a_cancel_link_ends_on_the_hosted_confirmation(demo_portal, browser_page):
    page, base_url = browser_page, demo_portal.base_url
    subscription = demo_portal.subscription(SAKURA, ADA, "Library Pro")
    flow_data = {
        "type": "subscription_cancel",
        "subscription_cancel": {"subscription_id": subscription},
        "after_completion": {
            "type": "hosted_confirmation",
            "hosted_confirmation": {"custom_message": "We'll miss you <3"},
        },
    }
    link = demo_portal.deep_link(SAKURA, ADA, flow_data)

    await open_on_task(page, link)
    assert page.url == f"{base_url}/subscriptions/{subscription}/cancel"
    await page.check("input[name=reason][value=UNUSED]")
    await page.click("button.danger")

    await page.wait_for_url(f"{base_url}/done")
    assert await page.inner_text("h1") == "Your subscription is cancelled"
    assert await page.inner_text(".flow-message") == "We'll miss you <3"
    # No return URL came with the link: the button leads to the business's default one.
    assert await page.get_attribute("main a:has-text('Return to Sakura Fonts')", "href") == (
        "https://sakura-fonts.example/account"
    )
    await page.goto(f"{base_url}/billing-history")
    assert page.url == f"{base_url}/done"


async def test_a_plan_change_confirmation_link_ends_with_the_way_back_to_the_shop(demo_portal, browser_page):
    page, base_url = browser_page, demo_portal.base_url
    subscription = demo_portal.subscription(NORTHWIND, ADA, "Team")
    flow_data = {
        "type": "subscription_update_confirm",
        "subscription_update_confirm": {
            "subscription_id": subscription,
            "items": [{"product_id": demo_portal.product(NORTHWIND, "Business")}],
        },
        "after_completion": {"type": "hosted_confirmation", "hosted_confirmation": {"custom_message": "Welcome!"}},
    }
    link = demo_portal.deep_link(NORTHWIND, ADA, flow_data, return_url=SHOP_URL)
    await shop_site(page)

    await open_on_task(page, link)
    await page.wait_for_selector("#preview-title")
    await page.click("button:has-text('Confirm')")

    await page.wait_for_url(f"{base_url}/done")
    assert await page.inner_text("h1") == "Your plan has changed"
    assert await page.inner_text(".flow-message") == "Welcome!"
    await page.click("main a:has-text('Return to Northwind Analytics')")
    await page.wait_for_url(SHOP_URL)


async def test_a_plan_change_link_redirects_to_the_shop_when_done(demo_portal, browser_page):
    """Grace moves down from Business to Team: scheduled for the period end, nothing charged."""
    page, base_url = browser_page, demo_portal.base_url
    subscription = demo_portal.subscription(NORTHWIND, GRACE, "Business")
    flow_data = {
        "type": "subscription_update",
        "subscription_update": {"subscription_id": subscription},
        "after_completion": {"type": "redirect", "redirect": {"return_url": SHOP_URL}},
    }
    link = demo_portal.deep_link(NORTHWIND, GRACE, flow_data)
    await shop_site(page)

    await open_on_task(page, link)
    assert page.url == f"{base_url}/subscriptions/{subscription}/change-plan"
    await page.check("label.choice:has-text('Team') input")
    await page.click("button:has-text('See the price')")
    await page.wait_for_selector("#preview-title")
    await page.click("button:has-text('Confirm')")

    await page.wait_for_url(SHOP_URL)
    assert await page.inner_text("h1") == "Back at the shop"
