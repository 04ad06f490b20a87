"""The hot paths besides the dashboard that customers feel, as the benchmark asks for them: the portal's home page
(HTML), an invoice PDF (stored, in English, Japanese and Arabic; the same with If-None-Match, answered 304; and a
first render in each language), a sign-in POST (whose email leaves through the outbox) and a plan change on the
sandbox processor.

`prepare` finds or makes what they need in the bench database, without touching the probe's dashboard data: the
probe's sessions (each PDF download counts against its session's 30 a minute, so requests go round many), an invoice
of the probe, pools of crowd invoices with no stored PDF (their stored_document rows deleted) and a session of each
of their customers, a pool of crowd emails to sign in with, and a crowd customer with a sandbox card and an ACTIVE
subscription that alternates between two plans of its collection, its business set to charge the full new price on
every change. Each sign-in goes out as its own address (X-Forwarded-For, believed from 127.0.0.1 in the bench app),
so the per-address sign-in limit never answers instead of the real work.

A first-render path asks for each invoice once and stops when its pool is spent; its clients honour the render
pool's 503 and Retry-After, counted apart from failures.
"""

import itertools
import re
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx

from access.sessions import SessionPolicy, open_session
from bench.dataset import PROBE_EMAIL
from gateway.http.csrf import VISITOR_COOKIE
from gateway.http.request_auth import SESSION_COOKIE
from merchants.features import changed_features, stored_features
from merchants.portal_configurations import features_of
from models import Customer, Invoice, PortalConfiguration, Product, StoredDocument, Subscription
from models.enums import Interval, Scope, SubscriptionStatus

# Each session may download 30 PDFs a minute (access.rate_limits.PDF_RENDERS_PER_SESSION); going round this many
# keeps a session under it up to about 15,000 stored downloads a minute.
PDF_SESSIONS = 1000
PDF_LANGUAGES = ("en", "ja", "ar")
# The pools of never-rendered invoices: one per first-render path, and the mixed run's (languages in turn).
MIX_POOL = "mix"
FIRST_RENDER_POOLS = (*PDF_LANGUAGES, MIX_POOL)
# Invoices per pool: more than the 4 clients of a first-render path get rendered in a phase (tens a second at most).
FIRST_RENDERS_PER_POOL = 1500
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
    """One kind of request, made fresh for each send by `next_request` (None once the path has no fresh request
    left), and what its answer must be: the status, the media type, `check` if given, and with `same_answer` the size
    of the first answer. An answer with `busy_status` is the server shedding load: counted apart, and the client
    waits its Retry-After."""

    name: str
    next_request: Callable[[], Request | None]
    status: int
    content_type: str
    concurrency: int = 16
    same_answer: bool = False
    check: Callable[[httpx.Response], bool] | None = None
    busy_status: int | None = None

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
    # Per pool of FIRST_RENDER_POOLS: (session token, invoice id) of invoices with no stored PDF.
    first_renders: dict[str, list[tuple[str, str]]]


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
        await _unrendered_invoices(policy),
    )


async def _unrendered_invoices(policy: SessionPolicy) -> dict[str, list[tuple[str, str]]]:
    """FIRST_RENDERS_PER_POOL crowd invoices per pool with no stored PDF, each pool's customers its own, with a
    session of each customer (a customer has at most 19 invoices: under the 30 downloads a session may make)."""
    wanted = FIRST_RENDERS_PER_POOL * len(FIRST_RENDER_POOLS)
    # Crowd customers have 10 invoices on average; twice as many customers as that needs is plenty.
    customers = (
        await Customer.filter(livemode=True, email_verified=True)
        .exclude(email=PROBE_EMAIL)
        .order_by("id")
        .limit(wanted // 5)
    )
    rows = (
        await Invoice.filter(customer_id__in=[customer.id for customer in customers])
        .order_by("id")
        .values_list("customer_id", "id")
    )
    invoices: defaultdict[str, list[str]] = defaultdict(list)
    for customer_id, invoice_id in rows:
        invoices[customer_id].append(invoice_id)
    pools: dict[str, list[tuple[str, str]]] = {name: [] for name in FIRST_RENDER_POOLS}
    open_pools = itertools.cycle(FIRST_RENDER_POOLS)
    for customer in customers:
        pool = pools[next(open_pools)]
        if len(pool) >= FIRST_RENDERS_PER_POOL or not invoices[customer.id]:
            continue
        token, _ = await open_session(
            scope=Scope.BUSINESS, livemode=True, email=customer.email, customer=customer, policy=policy
        )
        pool.extend((token, invoice_id) for invoice_id in invoices[customer.id])
    used = [invoice_id for pool in pools.values() for _, invoice_id in pool]
    # An earlier run (or the worker) stored some: they are rendered again, as if never downloaded.
    for start in range(0, len(used), 5000):
        await StoredDocument.filter(document_id__in=used[start : start + 5000]).delete()
    return pools


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


def _pdf_request(token: str, invoice_id: str, language: str, etag: str | None = None) -> Request:
    headers = {"Cookie": f"{SESSION_COOKIE}={token}", "Accept-Language": language}
    if etag is not None:
        headers["If-None-Match"] = etag
    return Request("GET", f"/invoices/{invoice_id}/pdf", headers)


async def store_probe_pdfs(client: httpx.AsyncClient, fixtures: Fixtures) -> dict[str, str]:
    """Download the probe's invoice once per language, so that it is stored, and check that the ETag served is the
    stored document's; returns the ETag per language."""
    etags = {}
    for language in PDF_LANGUAGES:
        request = _pdf_request(fixtures.pdf_tokens[0], fixtures.invoice_id, language)
        answer = await client.get(request.url, headers=request.headers)
        assert answer.status_code == 200 and answer.content.startswith(b"%PDF-"), (language, answer.status_code)
        stored = await StoredDocument.filter(
            document_id=fixtures.invoice_id, locale=language, content__isnull=False
        ).values_list("etag", flat=True)
        assert answer.headers.get("etag") in stored, f"the {language} PDF is served from the store"
        etags[language] = answer.headers["etag"]
    return etags


def stored_pdf(fixtures: Fixtures, language: str, etag: str) -> HotPath:
    """The probe's stored invoice; an answer counts only with the stored document's ETag."""
    tokens = itertools.cycle(fixtures.pdf_tokens)
    return HotPath(
        f"invoice PDF, stored, {language}",
        lambda: _pdf_request(next(tokens), fixtures.invoice_id, language),
        200,
        "application/pdf",
        check=lambda response: response.headers.get("etag") == etag,
    )


def conditional_pdf(fixtures: Fixtures, language: str, etag: str) -> HotPath:
    """The probe's stored invoice asked for with the ETag the client already has: 304, no body."""
    tokens = itertools.cycle(fixtures.pdf_tokens)
    return HotPath(
        f"invoice PDF, 304, {language}",
        lambda: _pdf_request(next(tokens), fixtures.invoice_id, language, etag),
        304,
        "",
    )


def first_render(fixtures: Fixtures, pool: str, concurrency: int = 4) -> HotPath:
    """Invoices never rendered, each asked for once, until the pool is spent: the first-render pools in their own
    language, the mixed run's in the three in turn. Four clients, as in the issue's mixed run: within the five
    renders a web process takes at once by default (one rendering, four queued), so a 503 means more arrived."""
    downloads = iter(fixtures.first_renders[pool])
    languages = itertools.cycle(PDF_LANGUAGES if pool == MIX_POOL else (pool,))

    def request() -> Request | None:
        download = next(downloads, None)
        return None if download is None else _pdf_request(*download, next(languages))

    return HotPath(
        f"invoice PDF, first render, {'en/ja/ar' if pool == MIX_POOL else pool}",
        request,
        200,
        "application/pdf",
        concurrency=concurrency,
        busy_status=503,
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
