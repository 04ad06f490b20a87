"""Refunds through billing.refunds.refund_payment, as the merchant API calls it: credit notes, invoice status, license
keys, events and the customer's email; refusals that write nothing; retries, crashes and concurrent refunds."""

import asyncio
from dataclasses import replace

import pytest

from billing.context import BillingContext
from billing.errors import BillingError, BillingErrorCode
from billing.processors.protocol import ProcessorError
from billing.refunds import refund_payment
from gateway.settings import Settings
from gateway.worker.mailer import compose_email
from models import EmailMessage, Event, Invoice, LicenseKey, Payment, Refund, SandboxCharge
from models.enums import InvoiceStatus, LicenseKeyStatus, PaymentPurpose, PaymentStatus, RefundStatus
from tests.support.billing import billing_context
from tests.support.sales import Sale


class CountingProcessor:
    """The sandbox, counting refund calls; `fail_with` makes the next refund raise instead (after refunding when
    `after_refunding`, as a process that died before recording the answer would)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.refunds = 0
        self.fail_with: Exception | None = None
        self.after_refunding = False

    async def refund(self, reference: str, amount: int, *, idempotency_key: str) -> None:
        self.refunds += 1
        failure, self.fail_with = self.fail_with, None
        if failure is not None and not self.after_refunding:
            raise failure
        await self.inner.refund(reference, amount, idempotency_key=idempotency_key)
        if failure is not None:
            raise failure


@pytest.fixture
def processor() -> CountingProcessor:
    return CountingProcessor(billing_context().processor)


@pytest.fixture
def context(processor: CountingProcessor) -> BillingContext:
    base = billing_context()
    return replace(base, processor=processor)


async def refunded_at_processor(payment: Payment) -> int:
    return (await SandboxCharge.get(id=payment.processor_reference)).refunded_amount


async def refund_events() -> list[Event]:
    return await Event.filter(type__startswith="refund.").order_by("created_at")


async def test_a_partial_then_the_rest_give_two_credit_notes_and_disable_the_key_at_the_end(
    sale: Sale, context: BillingContext
) -> None:
    total = sale.payment.total_amount

    first = await refund_payment(sale.payment, 1200, "Damaged file", client_key="r1", context=context)

    assert (first.status, first.amount, first.credit_note_number) == (RefundStatus.SUCCEEDED, 1200, "SF-CN-0001")
    invoice = await Invoice.get(payment_id=sale.payment.id)
    assert first.invoice_id == invoice.id and invoice.status == InvoiceStatus.PARTIALLY_REFUNDED
    assert (await LicenseKey.get(id=sale.key.id)).status == LicenseKeyStatus.ACTIVE
    [event] = await refund_events()
    assert event.type == "refund.succeeded"
    assert event.data["refund_id"] == first.id and event.data["payment_id"] == sale.payment.id
    assert (event.data["amount"], event.data["currency"], event.data["is_partial"]) == (1200, "USD", True)
    assert event.data["reason"] == "Damaged file"
    email = await EmailMessage.get(template="refund_issued")
    assert email.to_email == "ada@example.com"
    assert email.context["link"].endswith(f"/credit-notes/{first.id}/pdf")
    mime = compose_email(email, Settings(secret_key="test", run_worker_in_web=False))
    text = mime.get_body(("plain",)).get_content()
    assert mime["Subject"] == "Your refund from Sakura Fonts (SF-CN-0001)"
    assert "Sakura Fonts refunded $12.00 to you." in text and "Damaged file" in text
    assert f"/credit-notes/{first.id}/pdf" in text and "Visa •••• 4242" in text

    rest = await refund_payment(sale.payment, None, "", client_key="r2", context=context)

    assert (rest.amount, rest.credit_note_number) == (total - 1200, "SF-CN-0002")
    assert (await Invoice.get(id=invoice.id)).status == InvoiceStatus.REFUNDED
    assert (await LicenseKey.get(id=sale.key.id)).status == LicenseKeyStatus.DISABLED
    assert await refunded_at_processor(sale.payment) == total
    assert await EmailMessage.filter(template="refund_issued").count() == 2


@pytest.mark.parametrize("amount", [0, -5, "more than paid"])
async def test_a_refund_out_of_range_is_refused_and_writes_nothing(
    sale: Sale, context: BillingContext, processor: CountingProcessor, amount: int | str
) -> None:
    amount = sale.payment.total_amount + 1 if isinstance(amount, str) else amount

    with pytest.raises(BillingError) as refused:
        await refund_payment(sale.payment, amount, "", client_key="r1", context=context)

    assert (refused.value.code, refused.value.field) == (BillingErrorCode.REFUND_AMOUNT_INVALID, "amount")
    assert refused.value.params == {"maximum": sale.payment.total_amount}
    assert await Refund.all().count() == 0 and await refund_events() == []
    assert processor.refunds == 0 and await refunded_at_processor(sale.payment) == 0


async def test_what_is_left_shrinks_with_each_refund(sale: Sale, context: BillingContext) -> None:
    await refund_payment(sale.payment, sale.payment.total_amount - 100, "", client_key="r1", context=context)

    with pytest.raises(BillingError) as refused:
        await refund_payment(sale.payment, 101, "", client_key="r2", context=context)
    assert refused.value.code == BillingErrorCode.REFUND_AMOUNT_INVALID and refused.value.params == {"maximum": 100}
    await refund_payment(sale.payment, 100, "", client_key="r3", context=context)
    with pytest.raises(BillingError) as nothing_left:
        await refund_payment(sale.payment, None, "", client_key="r4", context=context)
    assert nothing_left.value.code == BillingErrorCode.PAYMENT_NOT_REFUNDABLE
    assert await Refund.all().count() == 2


async def test_a_failed_payment_and_bad_keys_or_reasons_are_refused(sale: Sale, context: BillingContext) -> None:
    await Payment.filter(id=sale.payment.id).update(status=PaymentStatus.FAILED)
    failed = await Payment.get(id=sale.payment.id)
    with pytest.raises(BillingError) as not_succeeded:
        await refund_payment(failed, 100, "", client_key="r1", context=context)
    assert (not_succeeded.value.code, not_succeeded.value.field) == ("PAYMENT_NOT_REFUNDABLE", "paymentId")

    for key, reason, field in (
        ("", "", "idempotencyKey"),
        ("a key", "", "idempotencyKey"),
        ("k" * 256, "", "idempotencyKey"),
        ("r1", "x" * 301, "reason"),
    ):
        with pytest.raises(BillingError) as refused:
            await refund_payment(sale.payment, 100, reason, client_key=key, context=context)
        assert (refused.value.code, refused.value.field) == (BillingErrorCode.INVALID_INPUT, field)
    assert await Refund.all().count() == 0


async def test_a_retry_answers_the_first_refund_without_calling_the_processor_again(
    sale: Sale, context: BillingContext, processor: CountingProcessor
) -> None:
    first = await refund_payment(sale.payment, 700, "", client_key="same", context=context)
    again = await refund_payment(sale.payment, 700, "", client_key="same", context=context)
    unspecified = await refund_payment(sale.payment, None, "", client_key="same", context=context)

    assert again.id == unspecified.id == first.id
    assert processor.refunds == 1 and await refunded_at_processor(sale.payment) == 700
    assert len(await refund_events()) == 1 and await EmailMessage.filter(template="refund_issued").count() == 1


async def test_the_same_key_for_another_amount_or_payment_is_refused(sale: Sale, context: BillingContext) -> None:
    other = await Payment.create(
        business=sale.shop.business,
        livemode=True,
        customer=sale.shop.customer,
        total_amount=5000,
        currency="USD",
        status=PaymentStatus.SUCCEEDED,
        purpose=PaymentPurpose.PURCHASE,
        idempotency_key="another-sale",
    )
    await refund_payment(sale.payment, 700, "", client_key="same", context=context)

    for payment, amount in ((sale.payment, 800), (other, 700)):
        with pytest.raises(BillingError) as reused:
            await refund_payment(payment, amount, "", client_key="same", context=context)
        assert reused.value.code == BillingErrorCode.IDEMPOTENCY_KEY_REUSED
    assert await Refund.all().count() == 1


async def test_a_refund_left_pending_by_a_crash_is_finished_by_the_retry_without_refunding_twice(
    sale: Sale, context: BillingContext, processor: CountingProcessor
) -> None:
    processor.fail_with, processor.after_refunding = RuntimeError("the process died"), True
    with pytest.raises(RuntimeError):
        await refund_payment(sale.payment, 900, "", client_key="crash", context=context)
    assert (await Refund.get()).status == RefundStatus.PENDING
    assert await refund_events() == []

    finished = await refund_payment(sale.payment, 900, "", client_key="crash", context=context)

    assert finished.status == RefundStatus.SUCCEEDED and finished.credit_note_number == "SF-CN-0001"
    assert processor.refunds == 2 and await refunded_at_processor(sale.payment) == 900
    assert [event.type for event in await refund_events()] == ["refund.succeeded"]


async def test_a_pending_refund_counts_against_what_is_left(sale: Sale, context: BillingContext) -> None:
    processor = context.processor
    processor.fail_with = RuntimeError("timeout")
    with pytest.raises(RuntimeError):
        await refund_payment(sale.payment, sale.payment.total_amount, "", client_key="first", context=context)

    with pytest.raises(BillingError) as refused:
        await refund_payment(sale.payment, 1, "", client_key="second", context=context)
    assert refused.value.code == BillingErrorCode.PAYMENT_NOT_REFUNDABLE


async def test_a_processor_refusal_fails_the_refund_and_changes_nothing_else(
    sale: Sale, context: BillingContext, processor: CountingProcessor
) -> None:
    processor.fail_with = ProcessorError("refund_not_possible")

    failed = await refund_payment(sale.payment, 900, "", client_key="r1", context=context)

    assert (failed.status, failed.credit_note_number, failed.issued_at) == (RefundStatus.FAILED, None, None)
    assert [event.type for event in await refund_events()] == ["refund.failed"]
    assert (await Invoice.get(payment_id=sale.payment.id)).status == InvoiceStatus.PAID
    assert await EmailMessage.filter(template="refund_issued").count() == 0
    assert (await refund_payment(sale.payment, 900, "", client_key="r1", context=context)).id == failed.id
    whole = await refund_payment(sale.payment, None, "", client_key="r2", context=context)
    assert whole.amount == sale.payment.total_amount and whole.credit_note_number == "SF-CN-0001"


async def test_two_concurrent_refunds_that_exceed_the_payment_together_cannot_both_win(
    sale: Sale, context: BillingContext
) -> None:
    share = sale.payment.total_amount * 6 // 10

    async def attempt(key: str) -> Refund | BillingError:
        try:
            return await refund_payment(sale.payment, share, "", client_key=key, context=context)
        except BillingError as error:
            return error

    results = await asyncio.gather(attempt("left"), attempt("right"))

    refunds = [result for result in results if isinstance(result, Refund)]
    refusals = [result for result in results if isinstance(result, BillingError)]
    assert len(refunds) == 1 and refunds[0].status == RefundStatus.SUCCEEDED
    assert [refusal.code for refusal in refusals] == [BillingErrorCode.REFUND_AMOUNT_INVALID]
    assert await refunded_at_processor(sale.payment) == share


async def test_concurrent_retries_under_one_key_make_one_refund(sale: Sale, context: BillingContext) -> None:
    results = await asyncio.gather(
        *(refund_payment(sale.payment, 500, "", client_key="same", context=context) for _ in range(8))
    )

    assert {refund.id for refund in results} == {(await Refund.get()).id}
    assert await refunded_at_processor(sale.payment) == 500
    assert len(await refund_events()) == 1
