"""The built-in sandbox payment processor. It follows Stripe's test conventions, so developers know its cards:

- test tokens `pm_card_visa`, `pm_card_chargeDeclined`, … attach to any customer and charge as their names say;
- its hosted "add a card" page (served by gateway under `/sandbox/`, as if it were the processor's own domain)
  takes a test card number: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 and …0069 are refused, …9995 and
  …0341 attach but their charges fail, 4000 0027 6000 3184 asks for 3-D Secure on every charge;
- a charge that needs 3-D Secure answers with a challenge URL; the challenge page approves or fails it;
- a refund is made once per idempotency key, like a charge: a repeated key answers the first refund.

The card number exists only while the hosted page handles its form: what is stored is the brand, the last four
digits, the expiry, a keyed fingerprint and how the card behaves. Its state lives in its own tables (models.sandbox),
standing in for a real processor's storage.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from stdnum import luhn
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from billing.processors.protocol import (
    CardDetails,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    DeclineCode,
    ProcessorError,
)
from core.clock import utcnow
from models import SandboxCard, SandboxCharge, SandboxSetup
from models.ids import find_by_client_id

SUCCEEDS = "succeeds"
REQUIRES_ACTION = "requires_action"
INVALID_TOKEN = "invalid_token"
IDEMPOTENCY_MISMATCH = "idempotency_key_in_use"
REFUND_NOT_POSSIBLE = "refund_not_possible"
# A refund is remembered as a row of the charges' table with this status, under its own idempotency key, so that a
# repeated key answers the first refund instead of giving the money back twice.
REFUND_RECORD = "refund"
_REFUND_KEY_PREFIX = "refund:"


@dataclass(frozen=True)
class TestCard:
    brand: str
    number: str
    behaviour: str


# Stripe's test PaymentMethod tokens: each attaches fine and then charges as its name says.
TEST_TOKENS: dict[str, TestCard] = {
    "pm_card_visa": TestCard("visa", "4242424242424242", SUCCEEDS),
    "pm_card_mastercard": TestCard("mastercard", "5555555555554444", SUCCEEDS),
    "pm_card_amex": TestCard("amex", "378282246310005", SUCCEEDS),
    "pm_card_jcb": TestCard("jcb", "3566002020360505", SUCCEEDS),
    "pm_card_chargeDeclined": TestCard("visa", "4000000000000002", DeclineCode.CARD_DECLINED),
    "pm_card_chargeDeclinedInsufficientFunds": TestCard("visa", "4000000000009995", DeclineCode.INSUFFICIENT_FUNDS),
    "pm_card_chargeDeclinedExpiredCard": TestCard("visa", "4000000000000069", DeclineCode.EXPIRED_CARD),
    "pm_card_authenticationRequired": TestCard("visa", "4000002760003184", REQUIRES_ACTION),
}

# How the hosted page's test numbers behave once attached; any other valid number succeeds.
NUMBER_BEHAVIOUR: dict[str, str] = {
    "4000000000009995": DeclineCode.INSUFFICIENT_FUNDS,
    "4000000000000127": DeclineCode.INCORRECT_CVC,
    "4000000000000341": DeclineCode.CARD_DECLINED,
    "4000002760003184": REQUIRES_ACTION,
}
# Numbers the issuer refuses when the card is verified on the hosted page, so they never attach.
REFUSED_AT_SETUP: dict[str, DeclineCode] = {
    "4000000000000002": DeclineCode.CARD_DECLINED,
    "4000000000000069": DeclineCode.EXPIRED_CARD,
}

# Issuer identification number prefixes, most specific first.
_BRAND_PREFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("amex", ("34", "37")),
    ("jcb", tuple(str(prefix) for prefix in range(3528, 3590))),
    ("diners", ("300", "301", "302", "303", "304", "305", "36", "38", "39")),
    ("discover", ("6011", "644", "645", "646", "647", "648", "649", "65")),
    ("unionpay", ("62",)),
    ("mastercard", ("51", "52", "53", "54", "55", *(str(prefix) for prefix in range(2221, 2721)))),
    ("visa", ("4",)),
)
_CHALLENGE_PATH = "/sandbox/authenticate/"
_SETUP_PATH = "/sandbox/setup/"


class CardRejected(Exception):
    """The hosted page's form cannot make a card of what was typed; `code` names the problem."""

    def __init__(self, code: str, field: str) -> None:
        super().__init__(code)
        self.code = code
        self.field = field


def card_brand(number: str) -> str:
    return next((brand for brand, prefixes in _BRAND_PREFIXES if number.startswith(prefixes)), "unknown")


def with_query(url: str, **params: str) -> str:
    """`url` with `params` added to its query string."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _request_fingerprint(request: ChargeRequest) -> str:
    return hashlib.sha256(f"{request.token}|{request.amount}|{request.currency}".encode()).hexdigest()


def _result(charge: SandboxCharge, base_url: str) -> ChargeResult:
    status = ChargeStatus(charge.status)
    return ChargeResult(
        status=status,
        reference=charge.id,
        decline_code=DeclineCode(charge.error_code) if charge.error_code else None,
        next_action_url=f"{base_url}{_CHALLENGE_PATH}{charge.id}" if status == ChargeStatus.REQUIRES_ACTION else "",
    )


def _charge_outcome(card: SandboxCard, now: datetime) -> tuple[ChargeStatus, str]:
    if (card.exp_year, card.exp_month) < (now.year, now.month):
        return ChargeStatus.FAILED, DeclineCode.EXPIRED_CARD
    if card.behaviour == SUCCEEDS:
        return ChargeStatus.SUCCEEDED, ""
    if card.behaviour == REQUIRES_ACTION:
        return ChargeStatus.REQUIRES_ACTION, ""
    return ChargeStatus.FAILED, card.behaviour


class SandboxProcessor:
    """The PaymentProcessor of the sandbox. `base_url` is where its pages are served; `secret` keys fingerprints."""

    def __init__(self, *, base_url: str, secret: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = secret.encode()

    def fingerprint(self, number: str) -> str:
        # Keyed: a plain hash of a card number is easy to reverse, its digits being few and mostly known.
        return hmac.new(self._secret, f"card:{number}".encode(), hashlib.sha256).hexdigest()[:32]

    async def attach(self, token: str, *, customer_reference: str) -> CardDetails:
        if token in TEST_TOKENS:
            card = await self._card_from_test_token(TEST_TOKENS[token], customer_reference)
        else:
            card = await self._attach_tokenised(token, customer_reference)
        return CardDetails(card.id, card.brand, card.last4, card.exp_month, card.exp_year, card.fingerprint)

    async def _card_from_test_token(self, test: TestCard, customer_reference: str) -> SandboxCard:
        now = utcnow()
        return await SandboxCard.create(
            brand=test.brand,
            last4=test.number[-4:],
            exp_month=now.month,
            exp_year=now.year + 3,
            fingerprint=self.fingerprint(test.number),
            behaviour=test.behaviour,
            attached_to=customer_reference,
        )

    async def _attach_tokenised(self, token: str, customer_reference: str) -> SandboxCard:
        card = await find_by_client_id(SandboxCard, token)
        if card is None or card.reference not in ("", customer_reference):
            raise ProcessorError(INVALID_TOKEN)
        if card.attached_to != customer_reference:
            # One conditional UPDATE: of two customers racing for one token, exactly one gets it.
            claimed = await SandboxCard.filter(id=card.id, attached_to="").update(attached_to=customer_reference)
            if not claimed:
                raise ProcessorError(INVALID_TOKEN)
        return card

    async def start_setup(self, *, customer_reference: str, return_url: str) -> str:
        setup = await SandboxSetup.create(reference=customer_reference, return_url=return_url)
        return f"{self.base_url}{_SETUP_PATH}{setup.id}"

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        existing = await SandboxCharge.get_or_none(idempotency_key=request.idempotency_key)
        if existing is None:
            existing = await self._create_charge(request)
        if existing.request_fingerprint != _request_fingerprint(request):
            raise ProcessorError(IDEMPOTENCY_MISMATCH)
        return _result(existing, self.base_url)

    async def _create_charge(self, request: ChargeRequest) -> SandboxCharge:
        card = await find_by_client_id(SandboxCard, request.token)
        if card is None or not card.attached_to:
            raise ProcessorError(INVALID_TOKEN)
        status, error_code = _charge_outcome(card, utcnow())
        try:
            return await SandboxCharge.create(
                idempotency_key=request.idempotency_key,
                request_fingerprint=_request_fingerprint(request),
                card=card,
                amount=request.amount,
                currency=request.currency,
                status=status,
                error_code=error_code,
                return_url=request.return_url,
            )
        except IntegrityError:
            # A concurrent request with the same key got there first: its charge is this one.
            return await SandboxCharge.get(idempotency_key=request.idempotency_key)

    async def complete_charge(self, reference: str) -> ChargeResult:
        charge = await find_by_client_id(SandboxCharge, reference)
        if charge is None:
            raise ProcessorError(INVALID_TOKEN)
        return _result(charge, self.base_url)

    async def refund(self, reference: str, amount: int, *, idempotency_key: str) -> None:
        record_key = f"{_REFUND_KEY_PREFIX}{hashlib.sha256(idempotency_key.encode()).hexdigest()}"
        fingerprint = hashlib.sha256(f"{reference}|{amount}".encode()).hexdigest()
        record = await SandboxCharge.get_or_none(idempotency_key=record_key)
        if record is None:
            record = await self._make_refund(reference, amount, record_key, fingerprint)
        if record.request_fingerprint != fingerprint:
            raise ProcessorError(IDEMPOTENCY_MISMATCH)

    async def _make_refund(self, reference: str, amount: int, record_key: str, fingerprint: str) -> SandboxCharge:
        """Take `amount` off the charge and remember the refund under its key, both or neither."""
        charge = await find_by_client_id(SandboxCharge.filter(status=ChargeStatus.SUCCEEDED), reference)
        if charge is None or amount <= 0:
            raise ProcessorError(REFUND_NOT_POSSIBLE)
        try:
            async with in_transaction():
                taken = await SandboxCharge.filter(id=charge.id, refunded_amount__lte=charge.amount - amount).update(
                    refunded_amount=F("refunded_amount") + amount
                )
                if not taken:
                    raise ProcessorError(REFUND_NOT_POSSIBLE)
                return await SandboxCharge.create(
                    idempotency_key=record_key,
                    request_fingerprint=fingerprint,
                    card_id=charge.card_id,
                    amount=amount,
                    currency=charge.currency,
                    status=REFUND_RECORD,
                )
        except IntegrityError:
            # A concurrent request under the same key refunded first: its refund is this one.
            return await SandboxCharge.get(idempotency_key=record_key)

    # --- the hosted pages -----------------------------------------------------------------------------------------

    async def setup_session(self, setup_id: str) -> SandboxSetup | None:
        """An "add a card" session, waiting for its card or finished (see `finished_url`)."""
        return await find_by_client_id(SandboxSetup, setup_id)

    def finished_url(self, setup: SandboxSetup) -> str | None:
        """Where a finished session sends the customer back, with the card it made: a second submit (a double
        click, the back button) answers the first one's result instead of making another card."""
        return with_query(setup.return_url, processor_token=setup.card_id) if setup.card_id else None

    async def submit_card(self, setup: SandboxSetup, number: str, expiry: str, cvc: str) -> str:
        """Tokenise a typed card for the session; returns where to send the customer (with the token).

        Raises CardRejected when the number, expiry or CVC is not a card's, or the issuer refuses the card."""
        digits = re.sub(r"[\s-]", "", number)
        if not (digits.isdigit() and 12 <= len(digits) <= 19 and luhn.is_valid(digits)):
            raise CardRejected("incorrect_number", "number")
        month, year = _parse_expiry(expiry)
        if not cvc.strip().isdigit() or len(cvc.strip()) not in (3, 4):
            raise CardRejected("invalid_cvc", "cvc")
        if digits in REFUSED_AT_SETUP:
            raise CardRejected(REFUSED_AT_SETUP[digits], "number")
        card = await SandboxCard.create(
            brand=card_brand(digits),
            last4=digits[-4:],
            exp_month=month,
            exp_year=year,
            fingerprint=self.fingerprint(digits),
            behaviour=NUMBER_BEHAVIOUR.get(digits, SUCCEEDS),
            reference=setup.reference,
        )
        await SandboxSetup.filter(id=setup.id).update(card_id=card.id)
        return with_query(setup.return_url, processor_token=card.id)

    def cancel_url(self, setup: SandboxSetup) -> str:
        return with_query(setup.return_url, setup_error="cancelled")

    async def challenge(self, charge_id: str) -> SandboxCharge | None:
        """A charge waiting for the customer's 3-D Secure answer."""
        return await find_by_client_id(SandboxCharge.filter(status=ChargeStatus.REQUIRES_ACTION), charge_id)

    async def answer_challenge(self, charge: SandboxCharge, *, approve: bool) -> str:
        """Record the customer's answer (once) and return where to send them back."""
        status = ChargeStatus.SUCCEEDED if approve else ChargeStatus.FAILED
        error_code = "" if approve else DeclineCode.AUTHENTICATION_FAILED
        await SandboxCharge.filter(id=charge.id, status=ChargeStatus.REQUIRES_ACTION).update(
            status=status, error_code=error_code
        )
        return charge.return_url


def _parse_expiry(expiry: str) -> tuple[int, int]:
    """`MM/YY` or `MM/YYYY`, not in the past."""
    match = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", expiry)
    if match is None or not 1 <= int(match[1]) <= 12:
        raise CardRejected("invalid_expiry", "expiry")
    month, year = int(match[1]), int(match[2])
    year = year + 2000 if year < 100 else year
    now = utcnow()
    if (year, month) < (now.year, now.month):
        raise CardRejected("invalid_expiry", "expiry")
    return month, year
