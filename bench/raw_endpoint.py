"""A hand-written dashboard endpoint, the baseline of bench/run.py: the answer to the DASHBOARD query of
tests/test_customer_graphql_cost.py built with raw SQL through asyncpg and plain dicts, without tortoise or GraphQL.

It checks the Bearer session token as access.sessions does and runs the statements the GraphQL request runs (13 for
the probe: the session, the customers in scope, one windowed page statement per list plus the saved payment
methods, then one batched statement per kind of child row), each selecting only the columns it shows, with
independent statements side by side on a pool as large as tortoise's (5).
"""

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from access.sessions import SessionPolicy
from core.money import format_money
from core.tokens import SESSION_PREFIX, hash_token
from gateway.graphql.customer import request_locale
from gateway.http.request_auth import bearer_token
from models.enums import InvoiceStatus, LicenseKeyStatus, Scope, SubscriptionStatus
from models.paging import Cursor, Page

PATH = "/dashboard"
PAGE_SIZE = 100
POOL_SIZE = 5
# As in access.sessions: last_seen_at is written at most once a minute; the limits are the settings' defaults.
_TOUCH_AFTER = timedelta(seconds=60)
_POLICY = SessionPolicy()

_SESSION = """SELECT id, scope, livemode, email, customer_id, last_seen_at, expires_at FROM portal_session
WHERE token_hash = $1 AND revoked_at IS NULL"""
_CUSTOMERS = """SELECT c.id, c.name, c.business_id, b.name AS business_name, b.support_email, b.logo_url,
b.primary_color, b.accent_color FROM customer c JOIN business b ON b.id = c.business_id
WHERE {scope} AND c.livemode = $2 ORDER BY c.created_at, c.id"""
_IN_SCOPE = "customer_id = ANY($1) AND livemode = $2 AND business_id = ANY($3)"
_LISTS = {
    "subscriptions": f"""SELECT id, business_id, created_at, status, quantity, recurring_pre_tax_amount, currency,
        next_billing_date, cancel_at_next_billing_date, product_id, payment_method_id FROM subscription
        WHERE {_IN_SCOPE}""",
    "invoices": f"""SELECT id, business_id, created_at, number, issued_at, status, total, currency FROM invoice
        WHERE {_IN_SCOPE}""",
    "license_keys": f"""SELECT id, business_id, created_at, key, status, activations_limit, product_id
        FROM license_key WHERE {_IN_SCOPE}""",
    "purchases": f"""SELECT id, business_id, created_at, total_amount, currency FROM payment
        WHERE {_IN_SCOPE} AND purpose = 'purchase'""",
}
_SAVED_PAYMENT_METHODS = f"""SELECT id, business_id, brand, last4, is_default FROM payment_method
WHERE {_IN_SCOPE} AND detached_at IS NULL ORDER BY is_default DESC, created_at DESC, id DESC"""
_PRODUCTS = "SELECT id, name FROM product WHERE id = ANY($1)"
_PAYMENT_METHODS = """SELECT id, brand, last4, exp_month, exp_year FROM payment_method
WHERE customer_id = ANY($1) AND livemode = $2 AND id = ANY($3)"""
_INVOICE_LINES = """SELECT invoice_id, description, quantity, amount FROM invoice_line WHERE invoice_id = ANY($1)
ORDER BY position, id"""
_INSTANCES = """SELECT license_key_id, id, name, created_at FROM license_key_instance WHERE license_key_id = ANY($1)
ORDER BY created_at, id"""
_PURCHASE_ITEMS = """SELECT i.payment_id, i.quantity, p.name FROM payment_item i JOIN product p ON p.id = i.product_id
WHERE i.payment_id = ANY($1) ORDER BY i.id"""
_PURCHASE_LICENSE_KEYS = """SELECT payment_id, key FROM license_key
WHERE customer_id = ANY($1) AND livemode = $2 AND payment_id = ANY($3) ORDER BY created_at DESC, id DESC"""


def paged(select: str) -> str:
    """The first PAGE_SIZE rows of each business, newest first, with each business's count (as models.paging)."""
    return f"""SELECT * FROM (SELECT listed.*, COUNT(*) OVER (PARTITION BY business_id) AS _total,
        ROW_NUMBER() OVER (PARTITION BY business_id ORDER BY created_at DESC, id DESC) AS _rank
        FROM ({select}) AS listed) AS ranked WHERE _rank <= {PAGE_SIZE + 1} ORDER BY _rank"""


async def live_session(pool: asyncpg.Pool, token: str) -> asyncpg.Record | None:
    if not token.startswith(SESSION_PREFIX):
        return None
    now = datetime.now(UTC)
    session = await pool.fetchrow(_SESSION, hash_token(token))
    if session is None or session["expires_at"] <= now:
        return None
    if session["last_seen_at"] + timedelta(seconds=_POLICY.idle_seconds) <= now:
        return None
    if now - session["last_seen_at"] >= _TOUCH_AFTER:
        await pool.execute("UPDATE portal_session SET last_seen_at = $1 WHERE id = $2", now, session["id"])
    return session


async def customers_in_scope(pool: asyncpg.Pool, session: asyncpg.Record) -> list[asyncpg.Record]:
    if session["scope"] == Scope.BUSINESS:
        return await pool.fetch(_CUSTOMERS.format(scope="c.id = $1"), session["customer_id"], session["livemode"])
    query = _CUSTOMERS.format(scope="c.email = $1 AND c.email_verified")
    return await pool.fetch(query, session["email"], session["livemode"])


def pages_by_business(records: list[asyncpg.Record]) -> dict[str, Page]:
    pages: dict[str, Page] = {}
    for record in records:
        page = pages.setdefault(record["business_id"], Page(total=record["_total"]))
        if record["_rank"] > PAGE_SIZE:
            page.has_next = True
        else:
            page.rows.append(record)
    return pages


def grouped(records: Iterable[asyncpg.Record], key: str) -> dict[str, list[asyncpg.Record]]:
    groups: dict[str, list[asyncpg.Record]] = defaultdict(list)
    for record in records:
        groups[record[key]].append(record)
    return groups


async def fetch_if(pool: asyncpg.Pool, ids: set[str], query: str, *leading: object) -> list[asyncpg.Record]:
    """Child rows of the given parents; no statement when there are none (as a dataloader never called)."""
    return await pool.fetch(query, *leading, list(ids)) if ids else []


class Dashboard:
    """Everything one viewer's dashboard shows, loaded in two rounds of statements, then shaped as GraphQL would."""

    def __init__(self, customers: list[asyncpg.Record], livemode: bool, locale: str) -> None:
        self.customers = customers
        self.livemode = livemode
        self.locale = locale
        self.customer_ids = [customer["id"] for customer in customers]
        first_customer: dict[str, asyncpg.Record] = {}
        for customer in customers:
            first_customer.setdefault(customer["business_id"], customer)
        self.by_business = first_customer
        self.business_ids = sorted(first_customer, key=lambda b: (first_customer[b]["business_name"].lower(), b))

    async def load(self, pool: asyncpg.Pool) -> None:
        scope = (self.customer_ids, self.livemode, self.business_ids)
        *lists, saved = await asyncio.gather(
            *(pool.fetch(paged(select), *scope) for select in _LISTS.values()),
            pool.fetch(_SAVED_PAYMENT_METHODS, *scope),
        )
        self.pages = {kind: pages_by_business(records) for kind, records in zip(_LISTS, lists, strict=True)}
        self.saved_payment_methods = grouped(saved, "business_id")
        subscriptions, invoices, keys, purchases = (self._rows(kind) for kind in _LISTS)
        products, methods, lines, instances, items, purchase_keys = await asyncio.gather(
            fetch_if(pool, {row["product_id"] for row in subscriptions + keys}, _PRODUCTS),
            fetch_if(
                pool,
                {row["payment_method_id"] for row in subscriptions if row["payment_method_id"]},
                _PAYMENT_METHODS,
                self.customer_ids,
                self.livemode,
            ),
            fetch_if(pool, {row["id"] for row in invoices}, _INVOICE_LINES),
            fetch_if(pool, {row["id"] for row in keys}, _INSTANCES),
            fetch_if(pool, {row["id"] for row in purchases}, _PURCHASE_ITEMS),
            fetch_if(pool, {row["id"] for row in purchases}, _PURCHASE_LICENSE_KEYS, self.customer_ids, self.livemode),
        )
        self.products = {row["id"]: row for row in products}
        self.payment_methods = {row["id"]: row for row in methods}
        self.lines = grouped(lines, "invoice_id")
        self.instances = grouped(instances, "license_key_id")
        self.items = grouped(items, "payment_id")
        self.purchase_keys = grouped(purchase_keys, "payment_id")

    def _rows(self, kind: str) -> list[asyncpg.Record]:
        return [row for page in self.pages[kind].values() for row in page.rows]

    def money(self, amount: int, currency: str) -> dict:
        return {"formatted": format_money(amount, currency, self.locale)}

    def businesses(self) -> list[dict]:
        return [self.business(business_id) for business_id in self.business_ids]

    def business(self, business_id: str) -> dict:
        customer = self.by_business[business_id]
        return {
            "id": business_id,
            "name": customer["business_name"],
            "supportEmail": customer["support_email"],
            "branding": {
                "logoUrl": customer["logo_url"],
                "primaryColor": customer["primary_color"],
                "accentColor": customer["accent_color"],
            },
            "customer": {"id": customer["id"], "name": customer["name"]},
            "subscriptions": self.connection("subscriptions", business_id, self.subscription, page_info=True),
            "invoices": self.connection("invoices", business_id, self.invoice),
            "licenseKeys": self.connection("license_keys", business_id, self.license_key),
            "purchases": self.connection("purchases", business_id, self.purchase),
            "paymentMethods": [
                {"id": m["id"], "brand": m["brand"], "last4": m["last4"], "isDefault": m["is_default"]}
                for m in self.saved_payment_methods.get(business_id, ())
            ],
        }

    def connection(self, kind: str, business_id: str, node: Callable, page_info: bool = False) -> dict:
        page = self.pages[kind].get(business_id, Page())
        shaped: dict = {"totalCount": page.total}
        if page_info:
            last = page.rows[-1] if page.rows else None
            end = Cursor(last["created_at"], last["id"]).encode() if last else None
            shaped["pageInfo"] = {"hasNextPage": page.has_next, "endCursor": end}
        shaped["edges"] = [{"node": node(row)} for row in page.rows]
        return shaped

    def subscription(self, row: asyncpg.Record) -> dict:
        product = self.products.get(row["product_id"])
        method = self.payment_methods.get(row["payment_method_id"])
        return {
            "id": row["id"],
            "status": SubscriptionStatus(row["status"]).name,
            "quantity": row["quantity"],
            "product": {"id": product["id"], "name": product["name"]} if product else None,
            "amount": self.money(row["recurring_pre_tax_amount"], row["currency"]),
            "nextBillingDate": row["next_billing_date"].isoformat(),
            "cancelAtNextBillingDate": row["cancel_at_next_billing_date"],
            "paymentMethod": {
                "id": method["id"],
                "brand": method["brand"],
                "last4": method["last4"],
                "expMonth": method["exp_month"],
                "expYear": method["exp_year"],
            }
            if method
            else None,
        }

    def invoice(self, row: asyncpg.Record) -> dict:
        currency = row["currency"]
        return {
            "id": row["id"],
            "number": row["number"],
            "issuedAt": row["issued_at"].isoformat(),
            "status": InvoiceStatus(row["status"]).name,
            "total": self.money(row["total"], currency),
            "lines": [
                {
                    "description": line["description"],
                    "quantity": line["quantity"],
                    "amount": self.money(line["amount"], currency),
                }
                for line in self.lines.get(row["id"], ())
            ],
        }

    def license_key(self, row: asyncpg.Record) -> dict:
        instances = self.instances.get(row["id"], [])
        product = self.products.get(row["product_id"])
        return {
            "id": row["id"],
            "key": row["key"],
            "status": LicenseKeyStatus(row["status"]).name,
            "activationsLimit": row["activations_limit"],
            "instancesCount": len(instances),
            "product": {"name": product["name"]} if product else None,
            "instances": [
                {"id": i["id"], "name": i["name"], "createdAt": i["created_at"].isoformat()} for i in instances
            ],
        }

    def purchase(self, row: asyncpg.Record) -> dict:
        return {
            "id": row["id"],
            "total": self.money(row["total_amount"], row["currency"]),
            "items": [
                {"product": {"name": item["name"]}, "quantity": item["quantity"]}
                for item in self.items.get(row["id"], ())
            ],
            "licenseKeys": [{"key": key["key"]} for key in self.purchase_keys.get(row["id"], ())],
        }


async def dashboard(request: Request) -> JSONResponse:
    pool: asyncpg.Pool = request.app.state.pool
    token = bearer_token(request)
    session = await live_session(pool, token) if token else None
    if session is None:
        return JSONResponse({"errors": [{"message": "Sign in first."}]}, status_code=401)
    view = Dashboard(await customers_in_scope(pool, session), session["livemode"], request_locale(request))
    await view.load(pool)
    viewer = {"email": session["email"], "scope": Scope(session["scope"]).name, "businesses": view.businesses()}
    return JSONResponse({"data": {"viewer": viewer}})


def create_raw_app(
    database_url: str, *, on_connect: Callable[[asyncpg.Connection], Awaitable[None]] | None = None
) -> Starlette:
    """The baseline app; `on_connect` runs on each new pool connection (bench/run.py counts statements with it)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(database_url, min_size=1, max_size=POOL_SIZE, init=on_connect)
        try:
            yield
        finally:
            await app.state.pool.close()

    return Starlette(routes=[Route(PATH, dashboard, methods=["POST"])], lifespan=lifespan)
