"""What the page, email and browser tests share: a real SMTP server that keeps what it receives, test settings,
a small shop to sign in to, and the steps of a sign-in.

tests/conftest.py loads it as a plugin, for its fixtures: `mailbox` (a started SMTP server), `portal_settings`
(sending to it) and `portal_http` (an httpx client of the ASGI app).
"""

import re
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import httpx
import pytest
from aiosmtpd.controller import Controller

from gateway.app import create_app
from gateway.settings import Settings
from models import Business, Customer, Invoice, LicenseKey, Product, Subscription
from models.enums import InvoiceStatus, LicenseKeyStatus, PriceType, SubscriptionStatus

LINK = re.compile(r"https?://\S+/session/cpl_[A-Za-z0-9_-]+")
CHANGE_LINK = re.compile(r"https?://\S+(/email-change/(cpl_[A-Za-z0-9_-]+))")
CSRF_FIELD = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
BASE_URL = "http://127.0.0.1:8000"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self._controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 -- aiosmtpd's handler hook
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def links(self) -> list[str]:
        return [LINK.search(text_of(message))[0] for message in self.messages]


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def make_settings(mailbox: Mailbox) -> Settings:
    """Settings for an app whose database the tests open themselves, sending to `mailbox`."""
    return Settings(
        base_url=BASE_URL,
        secret_key="test-secret-key",
        portal_name="Customer Portal",
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        smtp_tls="none",
        mail_from="portal@portal.example",
        run_worker_in_web=False,
        sandbox_in_live_mode=True,
    )


def portal_client(settings: Settings) -> httpx.AsyncClient:
    app = create_app(settings, manage_database=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture
def portal_settings(mailbox: Mailbox) -> Settings:
    return make_settings(mailbox)


@pytest.fixture
async def portal_http(portal_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with portal_client(portal_settings) as client:
        yield client


@dataclass
class Shop:
    business: Business
    customer: Customer
    subscription: Subscription


async def create_shop(
    name: str = "Acme Tools",
    email: str = "ada@example.com",
    *,
    product_name: str = "Pro plan",
    amount: int = 4900,
    currency: str = "USD",
    livemode: bool = True,
    verified: bool = True,
) -> Shop:
    """A business with one customer holding an active subscription, an invoice and a license key."""
    now = datetime.now(UTC)
    business = await Business.create(
        name=name,
        support_email=f"help@{name.split()[0].lower()}.example",
        primary_color="#0b3d91",
        accent_color="#f59e0b",
        headline=f"{name} for everyone",
        logo_url="https://cdn.example/logo.png",
    )
    customer = await Customer.create(
        business=business, livemode=livemode, email=email, email_verified=verified, name="Ada Lovelace"
    )
    product = await Product.create(
        business=business,
        livemode=livemode,
        name=product_name,
        price_type=PriceType.RECURRING,
        price=amount,
        currency=currency,
    )
    subscription = await Subscription.create(
        business=business,
        livemode=livemode,
        customer=customer,
        product=product,
        status=SubscriptionStatus.ACTIVE,
        recurring_pre_tax_amount=amount,
        currency=currency,
        previous_billing_date=now - timedelta(days=10),
        next_billing_date=datetime(2031, 3, 5, 12, tzinfo=UTC),
    )
    await Invoice.create(
        business=business,
        livemode=livemode,
        customer=customer,
        subscription=subscription,
        number=f"{name[:2].upper()}-0001",
        status=InvoiceStatus.PAID,
        currency=currency,
        subtotal=amount,
        total=amount,
        issued_at=now - timedelta(days=10),
    )
    await LicenseKey.create(
        business=business,
        livemode=livemode,
        customer=customer,
        product=product,
        key=f"{name.upper().replace(' ', '-')}-KEY-0001",
        status=LicenseKeyStatus.ACTIVE,
        activations_limit=3,
    )
    return Shop(business, customer, subscription)


def csrf_from(page: httpx.Response) -> str:
    return CSRF_FIELD.search(page.text)[1]


async def ask_for_sign_in_link(client: httpx.AsyncClient, login_path: str, email: str) -> httpx.Response:
    """Open the sign-in page and submit the email, as a browser would."""
    page = await client.get(login_path)
    return await client.post(login_path, data={"email": email, "csrf_token": csrf_from(page)})


async def follow_link(client: httpx.AsyncClient, link: str) -> httpx.Response:
    """Open an emailed link and press the confirm button; returns the answer to the confirmation."""
    path = httpx.URL(link).path
    confirm = await client.get(path)
    return await client.post(path, data={"csrf_token": csrf_from(confirm)})
