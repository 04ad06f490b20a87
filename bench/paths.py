"""The hot paths besides the dashboard that customers feel, as the benchmark asks for them: the portal's home page
(HTML), an invoice PDF in English, Japanese and Arabic, a sign-in POST (whose email leaves through the outbox) and a
plan change on the sandbox processor.

`prepare` finds or makes what they need in the bench database, without touching the probe's dashboard data: the
probe's sessions (one per 20 PDFs, as a session may render 30 a minute), an invoice of the probe, a pool of crowd
emails to sign in with, and a crowd customer with a sandbox card and an ACTIVE subscription that alternates between
two plans of its collection, its business set to charge the full new price on every change. Each request goes
out as its own address (X-Forwarded-For, believed from 127.0.0.1 in the bench app), so the per-address sign-in
limit never answers instead of the real work.
"""

import itertools
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx

from access.sessions import SessionPolicy, open_session
from bench.dataset import PROBE_EMAIL
from gateway.http.csrf import VISITOR_COOKIE
from gateway.http.request_auth import SESSION_COOKIE
from merchants.features import changed_features, stored_features
from merchants.portal_configurations import features_of
from models import Customer, Invoice, PortalConfiguration, Product, Subscription
from models.enums import Interval, Scope, SubscriptionStatus

PDF_SESSIONS = 60
SIGN_IN_EMAILS = 20_000
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    data: dict[str, str] | None = None
    json: dict | None = None


@dataclass
class HotPath:
    """One kind of request, made fresh for each send by `next_request`, and what its answer must be: the status,
    the media type, `check` if given, and with `same_answer` the size of the first answer."""

    name: str
    next_request: Callable[[], Request]
    status: int
    content_type: str
    concurrency: int = 16
    same_answer: bool = False
    check: Callable[[httpx.Response], bool] | None = None

    def accepts(self, response: httpx.Response) -> bool:
        media_type = response.headers.get("content-type", "")
        return (
            response.status_code == self.status
            and media_type.startswith(self.content_type)
            and (self.check is None or self.check(response))
        )


@dataclass
class Fixtures:
    """What the hot paths use, found or made in the bench database."""

    home_token: str
    pdf_tokens: list[str]
    invoice_id: str
    sign_in_emails: list[str]
    plan_token: str
    subscription_id: str
    plan_ids: tuple[str, str]  # the first change's plan, then the one the subscription is on


async def prepare() -> Fixtures:
    """Sessions for the probe, an invoice of it, crowd emails and a plan-changing crowd subscription (the database
    is connected)."""
    policy = SessionPolicy()
    home_token, _ = await open_session(scope=Scope.UNIFIED, livemode=True, email=PROBE_EMAIL, policy=policy)
    pdf_tokens = [
        (await open_session(scope=Scope.UNIFIED, livemode=True, email=PROBE_EMAIL, policy=policy))[0]
        for _ in range(PDF_SESSIONS)
    ]
    invoice = await Invoice.filter(customer__email=PROBE_EMAIL, livemode=True).order_by("-created_at").first()
    emails = (
        await Customer.filter(livemode=True, email_verified=True)
        .exclude(email=PROBE_EMAIL)
        .limit(SIGN_IN_EMAILS)
        .values_list("email", flat=True)
    )
    subscription = await _plan_changing_subscription()
    await _charge_every_change(subscription.business_id)
    customer = await subscription.customer
    plan_token, _ = await open_session(
        scope=Scope.BUSINESS, livemode=True, email=customer.email, customer=customer, policy=policy
    )
    plans = (
        await Product.filter(
            collection_id=(await subscription.product).collection_id,
            archived=False,
            payment_frequency_interval=subscription.payment_frequency_interval,
        )
        .order_by("collection_position")
        .values_list("id", flat=True)
    )
    # The first change leaves the plan the subscription is on now (an earlier run may have left it on either).
    other = next(plan for plan in plans[:2] if plan != subscription.product_id)
    return Fixtures(
        home_token,
        pdf_tokens,
        invoice.id,
        list(dict.fromkeys(emails)),
        plan_token,
        subscription.id,
        (other, subscription.product_id),
    )


async def _plan_changing_subscription() -> Subscription:
    """An ACTIVE monthly subscription of a crowd customer whose business lets customers change plans."""
    subscription = (
        await Subscription.filter(
            livemode=True,
            status=SubscriptionStatus.ACTIVE,
            cancel_at_next_billing_date=False,
            business__allow_subscription_updates=True,
            product__collection_id__isnull=False,
            customer__email_verified=True,
            payment_frequency_interval=Interval.MONTH,
        )
        .exclude(customer__email=PROBE_EMAIL)
        .order_by("id")
        .first()
    )
    assert subscription is not None, "the bench data set has plan-changing subscriptions"
    return subscription


async def _charge_every_change(business_id: str) -> None:
    """Let the business charge the full new price on every change, downgrades too and at once (a portal setting a
    merchant may choose), so that each change in the benchmark is a charge on the sandbox processor."""
    configuration = await PortalConfiguration.get(business_id=business_id, livemode=True, is_default=True)
    changes = {"subscription_update": {"proration_billing_mode": "full_immediately", "downgrade_at_period_end": False}}
    configuration.features = stored_features(changed_features(features_of(configuration), changes))
    await configuration.save(update_fields=["features"])


async def attach_sandbox_card(client: httpx.AsyncClient, fixtures: Fixtures) -> None:
    """Give the plan-changing subscription a sandbox test card, through the portal's own mutations."""
    headers = {"Authorization": f"Bearer {fixtures.plan_token}"}
    subscription = await Subscription.get(id=fixtures.subscription_id)
    added = await client.post(
        "/graphql",
        headers=headers,
        json={
            "query": """
        mutation($business: ID!) { addPaymentMethod(input: {businessId: $business, processorToken: "pm_card_visa",
          setAsDefault: true}) { paymentMethod { id } errors { message } } }""",
            "variables": {"business": subscription.business_id},
        },
    )
    method = added.json()["data"]["addPaymentMethod"]["paymentMethod"]["id"]
    used = await client.post(
        "/graphql",
        headers=headers,
        json={
            "query": """
        mutation($subscription: ID!, $method: ID!) { updateSubscriptionPaymentMethod(input: {subscriptionId:
          $subscription, paymentMethodId: $method}) { errors { message } } }""",
            "variables": {"subscription": subscription.id, "method": method},
        },
    )
    assert not used.json()["data"]["updateSubscriptionPaymentMethod"]["errors"], used.text


def _addresses() -> Iterator[str]:
    for number in itertools.count(1):
        yield f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"


def home_page(fixtures: Fixtures) -> HotPath:
    cookie = f"{SESSION_COOKIE}={fixtures.home_token}"
    return HotPath("home page (HTML)", lambda: Request("GET", "/", {"Cookie": cookie}), 200, "text/html")


def invoice_pdf(fixtures: Fixtures, language: str) -> HotPath:
    tokens = itertools.cycle(fixtures.pdf_tokens)
    url = f"/invoices/{fixtures.invoice_id}/pdf"
    return HotPath(
        f"invoice PDF ({language})",
        lambda: Request("GET", url, {"Cookie": f"{SESSION_COOKIE}={next(tokens)}", "Accept-Language": language}),
        200,
        "application/pdf",
    )


async def csrf_of_login_page(client: httpx.AsyncClient) -> tuple[str, str]:
    """The visitor cookie and CSRF token the sign-in page hands out."""
    page = await client.get("/login")
    match = _CSRF_FIELD.search(page.text)
    assert match, "the sign-in page has a CSRF field"
    return page.cookies[VISITOR_COOKIE], match.group(1)


def sign_in(fixtures: Fixtures, visitor: str, csrf: str) -> HotPath:
    emails, addresses = itertools.cycle(fixtures.sign_in_emails), _addresses()
    return HotPath(
        "sign-in POST",
        lambda: Request(
            "POST",
            "/login",
            {"Cookie": f"{VISITOR_COOKIE}={visitor}", "X-Forwarded-For": next(addresses)},
            data={"email": next(emails), "csrf_token": csrf},
        ),
        200,
        "text/html",
    )


def plan_change(fixtures: Fixtures) -> HotPath:
    """One subscription changing plan back and forth, each change charged on the sandbox card; one at a time, as
    changes of one subscription queue on its row lock anyway."""
    products, keys, run = itertools.cycle(fixtures.plan_ids), itertools.count(1), secrets.token_hex(6)
    query = """mutation($input: ChangePlanInput!) { changePlan(input: $input) {
        subscription { id status product { name } } payment { status } errors { code message } } }"""

    def request() -> Request:
        variables = {
            "input": {
                "subscriptionId": fixtures.subscription_id,
                "productId": next(products),
                "idempotencyKey": f"bench-{run}-{next(keys)}",
            }
        }
        headers = {"Authorization": f"Bearer {fixtures.plan_token}"}
        return Request("POST", "/graphql", headers, json={"query": query, "variables": variables})

    def changed(response: httpx.Response) -> bool:
        payload = response.json()["data"]["changePlan"]
        return not payload["errors"] and payload["subscription"]["status"] == "ACTIVE"

    return HotPath("plan change (mutation)", request, 200, "application/json", concurrency=1, check=changed)
