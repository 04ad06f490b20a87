"""Every page of the portal passes axe-core (the copy axe-playwright-python bundles) in English and Arabic, at 1280
and 390 px wide: all the rules axe runs by default and WCAG 2.2's, none turned off. Then what axe cannot judge, on a
phone: the unified home's counts leave no hole, a card's name keeps to one line, the account's navigation is a bar,
each "Manage at" button says which business it opens in one line, a plan's price is whole, and a monogram's letter
sits in the middle of its square.

One demo portal (tests/support/browser.py) serves the module and Ada signs in once per scope (and once more through a
merchant's deep link); its sign-in links live ten seconds, so that one asked for as the first test starts has
expired by its end. The business portal's pages that change something come last, in the order a customer meets
them: the plan change, cancelling the new plan, then changing the email address (away and back); in the unified
portal, paying the on-hold subscription with a card added on the processor's page that asks for 3-D Secure, failed
once and then approved. A merchant's payment link opens the hosted checkout. Last, the confirmations before a change
of money or access (unpause, resume, pause, don't pause, remove a card, deactivate a device). A failure names each
violation's rule, impact and target, axe's words, and every page, language and width it was found on.
Skipped when chromium or Playwright is missing (a failure under CI).
"""

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from starlette.requests import Request
from starlette.routing import Route

from gateway.app import create_app
from gateway.demo.seed import DEMO_EMAIL
from gateway.settings import Settings
from tests.support.browser import (
    CHALLENGED_CARD_NUMBER,
    DESKTOP,
    Merchants,
    PortalServer,
    ask_for_link,
    confirm_link,
    emailed_link,
    fill_in_test_card,
    require_browser,
    serve_demo_portal,
    sign_in_by_email,
    sign_in_link,
)
from tests.support.portal import CHANGE_LINK, Mailbox

require_browser()

LOCALES = ("en", "ar")
WIDTHS = (1280, 390)
# axe leaves its one WCAG 2.2 AA rule off by default; everything else it runs by default stays on.
AXE_OPTIONS = {"resultTypes": ["violations"], "rules": {"target-size": {"enabled": True}}}
NORTHWIND, SAKURA = "bus_demo_northwind", "bus_demo_sakura"
# Long enough for every sign-in to check its link's confirm step on the way, short enough that the first test
# outlives the link it asks for as it starts (or waits out the rest).
SIGN_IN_LINK_SECONDS = 10


def with_locale(url: str, locale: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}locale={locale}"


class Audit:
    """Runs axe on the pages a test shows it, at every width, and keeps each violation with where it was found."""

    def __init__(self, page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.axe = Axe()
        # (rule, impact, target, axe's words) -> each "page locale width" it was found on
        self.violations: dict[tuple[str, str, str, str], list[str]] = defaultdict(list)

    async def shown(self, name: str, locale: str) -> None:
        """Check the page as it is shown now."""
        for width in WIDTHS:
            await self.page.set_viewport_size({**DESKTOP, "width": width})
            results = await self.axe.run(self.page, options=AXE_OPTIONS)
            for violation in results.response["violations"]:
                for node in violation["nodes"]:
                    target = " >> ".join(str(part) for part in node["target"])
                    why = next((check["message"] for kind in ("any", "all", "none") for check in node[kind]), "")
                    key = (violation["id"], violation["impact"], target, why)
                    self.violations[key].append(f"{name} {locale} {width}px")

    async def each_locale(self, name: str, show: Callable[[str], Awaitable[None]]) -> None:
        """Check the page `show(locale)` brings up, in each language."""
        for locale in LOCALES:
            await show(locale)
            await self.shown(name, locale)

    async def path(self, name: str, path: str) -> None:
        """Check the page at `path` (with its query), in each language."""

        async def open_page(locale: str) -> None:
            await self.page.goto(with_locale(f"{self.base_url}{path}", locale))

        await self.each_locale(name, open_page)

    async def here(self, name: str) -> None:
        """Check the page the browser is on, reloaded in each language."""
        await self.path(name, self.current_path())

    def current_path(self) -> str:
        """The browser's address without its origin and without the language it was asked in."""
        url = urlsplit(self.page.url)
        query = urlencode([(key, value) for key, value in parse_qsl(url.query) if key != "locale"])
        return f"{url.path}?{query}" if query else url.path

    def assert_no_violations(self) -> None:
        if not self.violations:
            return
        lines = [f"{len(self.violations)} accessibility violations (rule, impact, target):"]
        for (rule, impact, target, why), places in sorted(self.violations.items()):
            lines.append(f"- {rule} ({impact}) at {target}\n    {why}\n    on {', '.join(places)}")
        pytest.fail("\n".join(lines), pytrace=False)


@pytest.fixture(scope="module")
def demo_portal(
    tmp_path_factory: pytest.TempPathFactory, mailbox_for_module: Mailbox, demo_sqlite_template: Path
) -> Iterator[PortalServer]:
    directory, lifetime = tmp_path_factory.mktemp("accessibility"), str(SIGN_IN_LINK_SECONDS)
    with serve_demo_portal(
        directory, mailbox_for_module, demo_sqlite_template, PORTAL_SIGN_IN_LINK_SECONDS=lifetime
    ) as server:
        yield server


@pytest.fixture
def audit(browser_page, demo_portal: PortalServer) -> Audit:
    return Audit(browser_page, demo_portal.base_url)


async def sign_in(audit: Audit, mailbox: Mailbox, login_path: str) -> str:
    """Sign Ada in on `login_path`, checking the link's confirm page on the way; returns the (used) link."""
    page = audit.page
    seen = len(mailbox.messages)
    await page.goto(with_locale(f"{audit.base_url}{login_path}", "en"))
    await ask_for_link(page)
    link = await sign_in_link(mailbox, seen)
    await audit.path("the confirm step of a sign-in link", urlsplit(link).path)
    await confirm_link(page, link)
    return link


async def link_left_to_expire(audit: Audit, mailbox: Mailbox) -> tuple[str, float]:
    """A sign-in link Ada asks for on the unified sign-in page and never opens, and the `time.monotonic()` by which
    it has expired (it was made before its email arrived)."""
    seen = len(mailbox.messages)
    await audit.page.goto(with_locale(f"{audit.base_url}/login", "en"))
    await ask_for_link(audit.page)
    link = await sign_in_link(mailbox, seen)
    return link, time.monotonic() + SIGN_IN_LINK_SECONDS


async def change_email(audit: Audit, mailbox: Mailbox, new_email: str, locale: str) -> None:
    """Ask on the profile page for the signed-in customer's email to become `new_email`, then open the emailed link
    in `locale` and confirm it, checking both steps."""
    page, seen = audit.page, len(mailbox.messages)
    await page.goto(with_locale(f"{audit.base_url}/profile", locale))
    await page.fill("#new-email", new_email)
    async with page.expect_navigation():
        await page.click("form[action='/profile/email'] button[type=submit]")
    await page.goto(with_locale(await emailed_link(mailbox, seen, CHANGE_LINK), locale))
    await audit.shown("the confirm step of an email-change link", locale)
    async with page.expect_navigation() as confirmed:
        await page.click("form.form-stack button[type=submit]")
    # Anything but the change (a conflict, a refused link) would leave Ada where the later tests do not expect her.
    assert (await confirmed.value).status == 200
    await audit.shown("email changed", locale)


async def reactivate_with_challenged_card(page) -> None:
    """On an on-hold subscription's page: pay with the saved card that asks for 3-D Secure, landing on its
    challenge."""
    last4 = CHALLENGED_CARD_NUMBER[-4:]
    await page.check(f"form.form-stack label.choice:has-text('{last4}') input")
    await page.click("form.form-stack button[type=submit]")
    await page.wait_for_url("**/sandbox/authenticate/*")


async def href(page, link_text: str) -> str:
    return await page.get_by_role("link", name=link_text, exact=True).first.get_attribute("href")


async def server_error_answer(base_url: str, path: str) -> httpx.Response:
    """The portal's answer to a browser when a page fails unexpectedly: its own app and middleware in this process,
    around a page that raises (the served portal has no page that fails on purpose)."""

    async def failing_page(request: Request) -> None:
        raise RuntimeError("a page that fails, to show the 500 page")

    app = create_app(Settings(base_url=base_url, secret_key="accessibility"), manage_database=False)
    app.router.routes.insert(0, Route(urlsplit(path).path, failing_page))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as client:
        return await client.get(path, headers={"accept": "text/html"})


async def test_the_pages_before_signing_in(audit: Audit, mailbox_for_module: Mailbox):
    page, base_url = audit.page, audit.base_url
    expiring_link, expired_by = await link_left_to_expire(audit, mailbox_for_module)
    await audit.path("the unified sign-in page", "/login")
    await audit.path("a business's sign-in page", f"/login/{NORTHWIND}")
    await audit.path("a business's test-mode sign-in page", f"/test/login/{NORTHWIND}")
    await audit.path("an unknown sign-in link", "/session/cpl_not-a-real-link")
    await audit.path("an unknown email-change link", "/email-change/not-a-real-link")
    await audit.path("page not found (404)", "/nope")
    await audit.path("a page opened the wrong way (405)", "/logout")

    async def languages_opened(locale: str) -> None:
        await page.goto(with_locale(f"{base_url}/login", locale))
        await page.click(".languages summary")

    async def check_your_email(locale: str) -> None:
        await page.goto(with_locale(f"{base_url}/login/{NORTHWIND}", locale))
        await ask_for_link(page, f"nobody-{locale}@example.com")

    async def form_too_large(locale: str) -> None:
        await page.goto(with_locale(f"{base_url}/login", locale))
        await page.fill("#email", "x" * 20_000)
        async with page.expect_navigation():
            await page.click("button[type=submit]")

    async def form_refused(locale: str) -> None:
        await page.goto(with_locale(f"{base_url}/login", locale))
        await page.locator("input[name=csrf_token]").evaluate("field => field.value = 'forged'")
        await ask_for_link(page)

    async def server_error(locale: str) -> None:
        path = with_locale("/fails", locale)
        answer = await server_error_answer(base_url, path)
        assert answer.status_code == 500
        await page.route(
            f"{base_url}{path}",
            lambda route: route.fulfill(status=500, headers=dict(answer.headers), body=answer.content),
        )
        await page.goto(f"{base_url}{path}")

    await audit.each_locale("the language switcher, opened", languages_opened)
    await audit.each_locale("check your email", check_your_email)
    await audit.each_locale("a form too large to send (413)", form_too_large)
    await audit.each_locale("a refused form (403)", form_refused)
    await audit.each_locale("a server error (500)", server_error)

    await asyncio.sleep(max(0.0, expired_by - time.monotonic()))
    # Checked first: a link still alive would show its confirm step, and axe would pass that instead.
    assert (await page.goto(with_locale(expiring_link, "en"))).status == 410
    assert await page.locator("h1").inner_text() == "This link has expired"
    await audit.path("an expired sign-in link (410)", urlsplit(expiring_link).path)
    audit.assert_no_violations()


async def test_the_business_portal(audit: Audit, mailbox_for_module: Mailbox):
    page, base_url = audit.page, audit.base_url
    link = await sign_in(audit, mailbox_for_module, f"/login/{NORTHWIND}")
    await audit.path("a used sign-in link (410)", urlsplit(link).path)
    await audit.path("the business home", "/")
    links = ("Team", "Warehouse sync add-on", "Desktop Connector")
    team, paused, license_key = [await href(page, name) for name in links]
    await audit.path("an active subscription", team)
    await audit.path("a paused subscription", paused)
    await audit.path("a license key", license_key)
    await audit.path("the subscription's payment method", f"{team}/payment-method")
    await audit.path("payment methods", f"/payment-methods?business={NORTHWIND}")
    await audit.path("billing history", "/billing-history")
    await audit.path("purchases", "/purchases")
    await audit.path("profile", "/profile")

    await audit.path("change plan: choose", f"{team}/change-plan")
    business_plan = await page.get_attribute("label.choice:has-text('Business') input", "value")
    await audit.path("change plan: preview", f"{team}/change-plan?product={business_plan}&quantity=1")
    await page.click("form.actions button[type=submit]")
    await page.wait_for_url("**/plan-changed*")
    await audit.here("plan changed")

    await audit.path("cancel: reasons", f"{team}/cancel")

    async def retention_offer(locale: str) -> None:
        await page.goto(with_locale(f"{base_url}{team}/cancel", locale))
        await page.check("input[name=reason][value=UNUSED]")
        async with page.expect_navigation():
            await page.click("button.danger")

    await audit.each_locale("cancel: the retention offer", retention_offer)
    await page.click("form:has(input[name=offer_seen]) button[type=submit]")
    await page.wait_for_url("**/cancelled*")
    await audit.here("cancelled")

    # Away in the first language and back in the second, so the later tests find Ada where the demo put her.
    for locale, address in zip(LOCALES, (f"moved.{DEMO_EMAIL}", DEMO_EMAIL), strict=True):
        await change_email(audit, mailbox_for_module, address, locale)
    audit.assert_no_violations()


async def test_the_unified_portal(audit: Audit, mailbox_for_module: Mailbox):
    page = audit.page
    await sign_in(audit, mailbox_for_module, "/login")
    await audit.path("the unified home", "/")
    on_hold, studio, past_due = [await href(page, name) for name in ("Library Personal", "Studio", "Library Studio")]
    await audit.path("billing history of every business", "/billing-history")
    await audit.path("purchases of every business", "/purchases")
    await audit.path("profile with one form for every business", "/profile")

    async def refused_profile(locale: str) -> None:
        await page.goto(with_locale(f"{audit.base_url}/profile", locale))
        await page.fill("#details-phone_number", "12")
        async with page.expect_navigation():
            await page.click("#details button[type=submit]")
        # The page opens at the error summary, which links to the refused field.
        assert await page.evaluate("document.activeElement.id") == "details-errors"

    await audit.each_locale("profile: a refused save and its error summary", refused_profile)
    await audit.path("a subscription that ends with its period", studio)
    await audit.path("an on-hold subscription", on_hold)
    await audit.path("a past-due subscription with Pay now", past_due)

    await page.click("form.add-card button[type=submit]")
    await page.wait_for_url("**/sandbox/setup/*")
    await audit.here("the sandbox's add-a-card page")
    await fill_in_test_card(page, CHALLENGED_CARD_NUMBER)
    await page.click("form.card-form button[type=submit]")
    await page.wait_for_selector("#reactivate-title")
    await reactivate_with_challenged_card(page)
    await audit.here("the sandbox's 3-D Secure challenge")
    await page.click("form:has(input[name=decision][value=fail]) button")
    await page.wait_for_url("**payment_error=*")
    await audit.here("an on-hold subscription after failing 3-D Secure")
    await reactivate_with_challenged_card(page)
    await page.click("form:has(input[name=decision][value=approve]) button")
    await page.wait_for_url("**/reactivated*")
    await audit.here("reactivated after 3-D Secure")
    audit.assert_no_violations()


async def test_a_deep_links_task_and_its_ending(audit: Audit, demo_portal: PortalServer):
    """A merchant's link opens the cancellation of Ada's Sakura Fonts trial, without the portal's navigation, and
    ends on the hosted confirmation."""
    page, merchants = audit.page, Merchants.with_keys(demo_portal, (SAKURA,))
    trial = merchants.subscription(SAKURA, DEMO_EMAIL, "Library Pro")
    flow_data = {
        "type": "subscription_cancel",
        "subscription_cancel": {"subscription_id": trial},
        "after_completion": {"type": "hosted_confirmation", "hosted_confirmation": {"custom_message": "Thank you."}},
    }
    await confirm_link(page, merchants.deep_link(SAKURA, DEMO_EMAIL, flow_data))
    await audit.here("a deep link's task: cancel")
    await page.click("button.danger")
    await page.wait_for_url("**/done")
    await audit.here("a deep link's hosted confirmation")
    audit.assert_no_violations()


async def test_a_payment_links_checkout(audit: Audit, demo_portal: PortalServer):
    """A merchant's payment link for a new customer opens the hosted checkout in the business's branding."""
    merchants = Merchants.with_keys(demo_portal, (SAKURA,))
    created = httpx.post(
        f"{audit.base_url}/subscriptions",
        json={
            "customer": {"email": "new-buyer@example.com", "name": "New Buyer"},
            "billing": {"country": "JP"},
            "product_id": merchants.product(SAKURA, "Library Pro"),
            "payment_link": True,
        },
        headers={"Authorization": f"Bearer {merchants.api_keys[SAKURA]}"},
    )
    assert created.status_code == 200, created.text
    await audit.path("a payment link's checkout", urlsplit(created.json()["payment_link"]).path)
    audit.assert_no_violations()


async def test_the_unified_portal_on_a_phone(browser_page, demo_portal: PortalServer, mailbox_for_module: Mailbox):
    """At 390 px: the sign-in page's monogram centred; the home's counts without a hole and card names whole, in
    English and Arabic, below a navigation of at most three rows; each "Manage at" named for its business and read
    in one line, on the home and the payment methods page; each plan's price whole on the plan change."""
    page = browser_page
    await page.set_viewport_size({**DESKTOP, "width": 390})
    await page.goto(f"{demo_portal.base_url}/login?locale=en")
    assert await monogram_offset(page) < 1
    await sign_in_by_email(page, mailbox_for_module)

    for locale in LOCALES:
        await page.goto(f"{demo_portal.base_url}/?locale={locale}")
        assert await page.locator(".counts").count() == 3
        assert all(share > 0.97 for share in await counts_coverage(page)), "the counts leave a hole"
        assert await page.locator(".card-label").count() > 0
        wrapped = await page.locator(".card-label").evaluate_all(
            "labels => labels.filter(label => label.getClientRects().length > 1).map(label => label.textContent)"
        )
        assert wrapped == [], f"card names broken over two lines: {wrapped}"
        # The account's five places are a bar, several to a row, not a column of five buttons before the banner.
        rows = await page.locator("nav.actions a").evaluate_all(
            "links => new Set(links.map(link => Math.round(link.getBoundingClientRect().top))).size"
        )
        assert rows <= 3, f"the account's navigation takes {rows} rows"
    width = page.viewport_size["width"]
    for path in ("/", "/payment-methods"):
        await page.goto(f"{demo_portal.base_url}{path}?locale=en")
        for business in ("Northwind Analytics", "Atelier Lumière", "Sakura Fonts"):
            # Each business's portal says where it leads, in one line that fits the phone's width.
            button = page.get_by_role("link", name=f"Manage at {business}", exact=True)
            assert await button.count() == 1
            box = await button.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width
            assert await lines_of(button) == 1, f"{path}: Manage at {business} is not read in one line"

    await page.goto(f"{demo_portal.base_url}/?locale=en")
    studio = await page.get_by_role("link", name="Studio", exact=True).get_attribute("href")
    for locale in LOCALES:
        # Each plan's price, with its interval and tax, is whole inside its choice.
        await page.goto(f"{demo_portal.base_url}{studio}/change-plan?locale={locale}")
        assert await page.locator(".choice .figure").count() == 3
        clipped = await page.locator(".choice").evaluate_all(
            """choices => choices.filter(choice => {
              const box = choice.getBoundingClientRect();
              const price = choice.querySelector('.figure').getBoundingClientRect();
              return price.left < box.left || price.right > box.right || box.right > innerWidth || box.left < 0;
            }).map(choice => choice.querySelector('.figure').textContent)"""
        )
        assert clipped == [], f"plan prices cut off in {locale}: {clipped}"


async def lines_of(element) -> int:
    """How many lines the element's words take on the screen."""
    return await element.evaluate(
        """element => {
          const texts = document.createTreeWalker(element, NodeFilter.SHOW_TEXT), middles = new Set();
          for (let text = texts.nextNode(); text; text = texts.nextNode()) {
            const words = document.createRange();
            words.selectNodeContents(text);
            for (const line of words.getClientRects()) middles.add(Math.round((line.top + line.bottom) / 2));
          }
          return middles.size;
        }"""
    )


async def monogram_offset(page) -> float:
    """How far, in CSS pixels, the first monogram's letter (its box trimmed to the capital) is from its square's
    middle."""
    return await page.locator(".monogram").first.evaluate(
        """square => {
          const outer = square.getBoundingClientRect(), letter = square.firstElementChild.getBoundingClientRect();
          return Math.abs((outer.top + outer.bottom) / 2 - (letter.top + letter.bottom) / 2);
        }"""
    )


async def counts_coverage(page) -> list[float]:
    """For each business's counts, the share of their area the count tiles fill (1 when they leave no hole; the
    1 px lines between the tiles make it a little less)."""
    return await page.locator(".counts").evaluate_all(
        """groups => groups.map(group => {
          const box = group.getBoundingClientRect();
          const filled = [...group.children].reduce((sum, tile) => {
            const { width, height } = tile.getBoundingClientRect();
            return sum + width * height;
          }, 0);
          return filled / (box.width * box.height);
        })"""
    )


async def test_the_confirmations(audit: Audit, mailbox_for_module: Mailbox):
    """In the unified portal, the step before each change of money or access: unpausing a paused subscription,
    resuming one that ends with its period, pausing it then (where the business allows it) and calling that pause
    off, removing a card, deactivating a device; and the subscription page with the pause scheduled. Last in the
    module: it resumes and pauses the demo's subscription at Atelier Lumière."""
    page, base_url = audit.page, audit.base_url

    async def confirmation(name: str, path: str) -> None:
        await audit.path(name, path)
        assert await page.locator("form input[name=confirmed]").count() == 1, f"{path} shows no confirmation"

    await sign_in(audit, mailbox_for_module, "/login")
    await page.goto(with_locale(f"{base_url}/", "en"))
    paused, studio, license_key = [
        await href(page, name) for name in ("Warehouse sync add-on", "Studio", "Desktop Connector")
    ]
    await confirmation("confirm: unpause", f"{paused}/unpause")
    await page.goto(with_locale(f"{base_url}/payment-methods?business={NORTHWIND}", "en"))
    await confirmation("confirm: remove a card", await href(page, "Remove"))
    await page.goto(with_locale(f"{base_url}{license_key}", "en"))
    device = await page.get_attribute("input[name=instance_id]", "value")
    await confirmation("confirm: deactivate a device", f"{license_key}/deactivate?instance_id={device}")

    await confirmation("confirm: resume", f"{studio}/resume")
    await page.click("form:has(input[name=confirmed]) button[type=submit]")
    await page.wait_for_url("**updated=resumed*")
    await confirmation("confirm: pause", f"{studio}/pause?cycles=2")
    await page.click("form:has(input[name=confirmed]) button[type=submit]")
    await page.wait_for_url("**updated=pause_scheduled*")
    await audit.path("a subscription with a pause scheduled", studio)
    await confirmation("confirm: don't pause", f"{studio}/unpause")
    audit.assert_no_violations()
