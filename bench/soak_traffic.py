"""The soak test's traffic: a few concurrent clients, round-robin over the web nodes, doing what customers and
merchants do (sign-ins through the login page, dashboards, plan changes, reactivations, refunds through the
merchant API), some writes sent with the same idempotency key to both nodes at once. Every answer is tallied; a 5xx
(or a GraphQL error that is not a user error) counts as a failure unless a fault window allowed it, and so does a
connection error."""

import asyncio
import contextlib
import itertools
import math
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

REQUEST_TIMEOUT_SECONDS = 30.0
# A write whose answer was lost is sent again under its key, as a merchant's or customer's client would.
WRITE_ATTEMPTS, RETRY_PAUSE_SECONDS = 4, 2.0
# Seats a plan change may add up to (the demo's Northwind allows 10).
MAX_QUANTITY = 6
THINK_SECONDS = (0.05, 0.3)
DASHBOARD = (
    "{ viewer { email subscriptions(first: 20) { totalCount nodes { id status amount { formatted } nextBillingDate } }"
    " invoices(first: 20) { totalCount nodes { number status total { formatted } } } } }"
)
TARGETS = (
    "{ viewer { subscriptions(first: 50) { nodes { id status business { id } product { id }"
    " quantity planChangeOptions { product { id } } } } paymentMethods { id expired business { id } } } }"
)
CHANGE_PLAN = (
    "mutation($input: ChangePlanInput!) { changePlan(input: $input) { payment { id status } errors { code } } }"
)
REACTIVATE = (
    "mutation($input: ReactivateSubscriptionInput!) { reactivateSubscription(input: $input) "
    "{ payment { id status } errors { code } } }"
)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Unanswered(Exception):
    """No answer came (a connection error), or a 5xx."""


@dataclass
class Window:
    """A time span (time.monotonic()) in which a fault allows failures; open-ended until closed."""

    start: float
    end: float = math.inf

    def overlaps(self, sent: float, answered: float) -> bool:
        return sent <= self.end and answered >= self.start


@dataclass
class Windows:
    """Connection errors are allowed to a web port while it is killed; 5xx and connection errors anywhere while
    PostgreSQL restarts."""

    killed: dict[int, list[Window]] = field(default_factory=dict)
    restarts: list[Window] = field(default_factory=list)

    def allows_5xx(self, sent: float, answered: float) -> bool:
        return any(window.overlaps(sent, answered) for window in self.restarts)

    def allows_connection_error(self, port: int, sent: float, answered: float) -> bool:
        killed = self.killed.get(port, [])
        return self.allows_5xx(sent, answered) or any(window.overlaps(sent, answered) for window in killed)


@dataclass
class Tally:
    """What one kind of request got."""

    statuses: Counter[int] = field(default_factory=Counter)
    user_errors: Counter[str] = field(default_factory=Counter)
    failures_allowed: int = 0
    failures: list[str] = field(default_factory=list)
    connection_errors_allowed: int = 0
    connection_errors: list[str] = field(default_factory=list)


@dataclass
class SubscriptionTarget:
    id: str
    status: str
    business_id: str
    product_id: str
    quantity: int
    options: list[str]
    token: str


@dataclass
class Targets:
    """What the clients act on, as the customers' own sessions and the merchants' API see it (refreshed)."""

    subscriptions: list[SubscriptionTarget] = field(default_factory=list)
    methods: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (token, business) -> method ids
    payments: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # business -> (payment id, total)


@dataclass(frozen=True)
class SameKeyPair:
    """The two answers to one write sent under one key to both nodes at once: the object ids they named."""

    kind: str
    key: str
    answers: tuple[str | None, str | None]

    @property
    def agree(self) -> bool:
        named = {answer for answer in self.answers if answer is not None}
        return len(named) <= 1


@dataclass
class Traffic:
    ports: list[int]
    tokens: dict[str, str]  # customer email -> session token
    api_keys: dict[str, str]  # business id -> live API key
    windows: Windows
    tallies: dict[str, Tally] = field(default_factory=dict)
    targets: Targets = field(default_factory=Targets)
    plan_change_keys: list[tuple[str, str]] = field(default_factory=list)  # (subscription id, client key)
    pairs: list[SameKeyPair] = field(default_factory=list)
    _next_port: Iterator[int] = field(init=False)
    _client: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        self._next_port = itertools.cycle(self.ports)

    # --- one request ------------------------------------------------------------------------------------------

    async def send(
        self, kind: str, method: str, path: str, port: int | None = None, **options: Any
    ) -> httpx.Response | None:
        """One request to a node (the next in turn unless given), tallied under `kind`; None when the connection
        failed. A GraphQL answer carrying top-level errors counts as a server failure."""
        port = port or next(self._next_port)
        tally = self.tallies.setdefault(kind, Tally())
        sent = time.monotonic()
        try:
            response = await self._client.request(method, f"http://127.0.0.1:{port}{path}", **options)
        except httpx.TransportError as error:
            answered = time.monotonic()
            if self.windows.allows_connection_error(port, sent, answered):
                tally.connection_errors_allowed += 1
            else:
                tally.connection_errors.append(f"{port} {path}: {type(error).__name__} {error}"[:300])
            return None
        answered = time.monotonic()
        tally.statuses[response.status_code] += 1
        failure = f"{port} {path}: {response.status_code} {response.text[:200]}"
        if response.status_code < 500 and path.endswith("/graphql"):
            errors = response.json().get("errors")
            failure = f"{port} {path}: GraphQL errors {errors}"[:300] if errors else ""
        elif response.status_code < 500:
            failure = ""
        if failure and self.windows.allows_5xx(sent, answered):
            tally.failures_allowed += 1
        elif failure:
            tally.failures.append(failure)
        return response

    async def graphql(
        self, kind: str, token: str, query: str, variables: dict[str, Any] | None = None, port: int | None = None
    ) -> dict[str, Any] | None:
        headers = {"Authorization": f"Bearer {token}"}
        body = {"query": query, "variables": variables or {}}
        response = await self.send(kind, "POST", "/graphql", port, headers=headers, json=body)
        if response is None or response.status_code >= 500:
            raise Unanswered
        if response.status_code != 200:
            return None
        data: dict[str, Any] | None = response.json().get("data")
        return data

    # --- what clients do ----------------------------------------------------------------------------------------

    async def dashboard(self) -> None:
        with contextlib.suppress(Unanswered):
            await self.graphql("dashboard", random.choice(list(self.tokens.values())), DASHBOARD)

    async def sign_in(self) -> None:
        """The login page: GET the form on one node, POST it to the other (one secret key signs CSRF for both)."""
        business = random.choice(["", "/bus_demo_northwind", "/bus_demo_lumiere", "/bus_demo_sakura"])
        email = random.choice([*self.tokens, "nobody@example.com"])
        first, second = random.sample(self.ports, 2) if len(self.ports) > 1 else (self.ports[0],) * 2
        form = await self.send("sign-in", "GET", f"/login{business}", first)
        if form is None or form.status_code != 200 or not (token := _CSRF.search(form.text)):
            return
        cookie = "; ".join(f"{name}={value}" for name, value in form.cookies.items())
        await self.send(
            "sign-in",
            "POST",
            f"/login{business}",
            second,
            data={"email": email, "csrf_token": token[1]},
            headers={"Cookie": cookie},
        )

    async def change_plan(self) -> None:
        candidates = [s for s in self.targets.subscriptions if s.status == "ACTIVE" and len(s.options) > 1]
        if not candidates:
            return await self.dashboard()
        subscription = random.choice(candidates)
        # Another plan, or one seat more (an upgrade, charged at once) while the plan allows a few.
        changes: list[tuple[str, int | None]] = [
            (option, None) for option in subscription.options if option != subscription.product_id
        ]
        if subscription.quantity < MAX_QUANTITY:
            changes.append((subscription.product_id, subscription.quantity + 1))
        product, quantity = random.choice(changes)
        key = f"soak-plan-{uuid.uuid4().hex}"
        self.plan_change_keys.append((subscription.id, key))
        change = {"subscriptionId": subscription.id, "productId": product, "quantity": quantity, "idempotencyKey": key}
        variables = {"input": change}
        await self._maybe_twice(
            "plan change",
            key,
            random.random() < 0.3,
            lambda port: self._payment_of(
                "plan change", "changePlan", subscription.token, CHANGE_PLAN, variables, port
            ),
        )

    async def reactivate(self) -> None:
        candidates = [s for s in self.targets.subscriptions if s.status == "ON_HOLD"]
        if not candidates:
            return await self.dashboard()
        subscription = random.choice(candidates)
        methods = self.targets.methods.get((subscription.token, subscription.business_id), [])
        if not methods:
            return await self.dashboard()
        key = f"soak-reactivate-{uuid.uuid4().hex}"
        variables = {
            "input": {
                "subscriptionId": subscription.id,
                "paymentMethodId": random.choice(methods),
                "idempotencyKey": key,
            }
        }
        await self._maybe_twice(
            "reactivation",
            key,
            True,
            lambda port: self._payment_of(
                "reactivation", "reactivateSubscription", subscription.token, REACTIVATE, variables, port
            ),
        )

    async def refund(self) -> None:
        business = random.choice([b for b in self.api_keys if self.targets.payments.get(b)] or [""])
        if not business:
            return await self.dashboard()
        payment_id, total = random.choice(self.targets.payments[business])
        key = f"soak-refund-{uuid.uuid4().hex}"
        headers = {"Authorization": f"Bearer {self.api_keys[business]}", "Idempotency-Key": key}
        body = {"payment_id": payment_id, "amount": random.randint(1, max(1, min(50, total // 20))), "reason": "soak"}

        async def refund_id(port: int | None) -> str | None:
            response = await self.send("refund", "POST", "/refunds", port, headers=headers, json=body)
            if response is None or response.status_code >= 500:
                raise Unanswered
            if response.status_code != 200:
                self.tallies["refund"].user_errors[response.json().get("code", str(response.status_code))] += 1
                return None
            return str(response.json()["refund_id"])

        await self._maybe_twice("refund", key, random.random() < 0.3, refund_id)

    async def _payment_of(
        self, kind: str, field_name: str, token: str, query: str, variables: dict[str, Any], port: int | None
    ) -> str | None:
        data = await self.graphql(kind, token, query, variables, port)
        if data is None:
            return None
        payload = data[field_name]
        for error in payload["errors"]:
            self.tallies[kind].user_errors[error["code"]] += 1
        return payload["payment"]["id"] if payload["payment"] else None

    async def _maybe_twice(
        self, kind: str, key: str, twice: bool, call: Callable[[int | None], Awaitable[str | None]]
    ) -> None:
        if not twice or len(self.ports) < 2:
            await self._retried(call, None)
            return
        first, second = await asyncio.gather(self._retried(call, self.ports[0]), self._retried(call, self.ports[1]))
        self.pairs.append(SameKeyPair(kind, key, (first, second)))

    async def _retried(self, call: Callable[[int | None], Awaitable[str | None]], port: int | None) -> str | None:
        """`call` to `port`, and while unanswered again a moment later to the next node in turn (same key)."""
        for _ in range(WRITE_ATTEMPTS):
            try:
                return await call(port)
            except Unanswered:
                await asyncio.sleep(RETRY_PAUSE_SECONDS)
                port = None
        return None

    # --- targets ------------------------------------------------------------------------------------------------

    async def refresh_targets(self) -> None:
        subscriptions: list[SubscriptionTarget] = []
        methods: dict[tuple[str, str], list[str]] = {}
        for token in self.tokens.values():
            try:
                data = await self.graphql("targets", token, TARGETS)
            except Unanswered:
                return
            # No answer, or none for the viewer (the database restarting): keep the targets as they were.
            viewer = data and data.get("viewer")
            if not viewer:
                return
            subscriptions += [
                SubscriptionTarget(
                    node["id"],
                    node["status"],
                    node["business"]["id"],
                    node["product"]["id"] if node["product"] else "",
                    node["quantity"],
                    [option["product"]["id"] for option in node["planChangeOptions"]],
                    token,
                )
                for node in viewer["subscriptions"]["nodes"]
            ]
            for method in viewer["paymentMethods"]:
                if not method["expired"]:
                    methods.setdefault((token, method["business"]["id"]), []).append(method["id"])
        payments: dict[str, list[tuple[str, int]]] = {}
        for business, key in self.api_keys.items():
            headers = {"Authorization": f"Bearer {key}"}
            response = await self.send("targets", "GET", "/payments?status=succeeded&page_size=100", headers=headers)
            if response is None or response.status_code != 200:
                return
            payments[business] = [(item["payment_id"], item["total_amount"]) for item in response.json()["items"]]
        self.targets = Targets(subscriptions, methods, payments)

    # --- the run ------------------------------------------------------------------------------------------------

    async def run(self, seconds: float, clients: int, refresh_seconds: float = 10.0) -> None:
        actions = (
            [self.dashboard] * 4 + [self.sign_in] * 2 + [self.change_plan] * 2 + [self.reactivate, self.refund] * 1
        )
        limits = httpx.Limits(max_connections=clients * 2 + 4, max_keepalive_connections=clients * 2)
        # A jar that keeps no cookie: each sign-in is a first-time visitor whose CSRF cookie comes from its own GET.
        cookies = CookieJar(DefaultCookiePolicy(allowed_domains=[]))
        async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT_SECONDS, cookies=cookies) as self._client:
            await self.refresh_targets()
            deadline = time.monotonic() + seconds

            async def client() -> None:
                while time.monotonic() < deadline:
                    await random.choice(actions)()
                    await asyncio.sleep(random.uniform(*THINK_SECONDS))

            async def refresher() -> None:
                while time.monotonic() < deadline:
                    await asyncio.sleep(refresh_seconds)
                    await self.refresh_targets()

            await asyncio.gather(refresher(), *(client() for _ in range(clients)))

    async def call_merchant_graphql(self, business: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The merchant GraphQL API with the business's key, outside the traffic (setup, replays)."""
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS) as client:
            response = await client.post(
                f"http://127.0.0.1:{self.ports[0]}/merchant/graphql",
                headers={"Authorization": f"Bearer {self.api_keys[business]}"},
                json={"query": query, "variables": variables},
            )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer
