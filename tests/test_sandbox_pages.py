"""The sandbox processor's hosted pages, driven in-process as a browser would: adding a test card (saved, refused,
mistyped, forged), the 3-D Secure challenge (approve, fail), languages, and the card number staying out of pages
and logs."""

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware

from billing.processors.protocol import ChargeRequest, ChargeStatus, DeclineCode
from billing.processors.sandbox import SandboxProcessor
from gateway.http.security_headers import SecurityHeadersMiddleware
from gateway.pages.sandbox import routes
from gateway.settings import Settings
from models import SandboxCard
from tests.support.portal import BASE_URL, csrf_from

RETURN_URL = f"{BASE_URL}/payment-methods/added?from=portal"
PAYMENT_RETURN_URL = f"{BASE_URL}/payments/pay_1/complete"
NUMBER_INPUT = re.compile(r"<input id=\"number\"[^>]*>")
CVC_INPUT = re.compile(r"<input id=\"cvc\"[^>]*>")


@dataclass
class Sandbox:
    processor: SandboxProcessor
    http: httpx.AsyncClient


@pytest.fixture
async def sandbox(settings: Settings) -> AsyncIterator[Sandbox]:
    processor = SandboxProcessor(base_url=BASE_URL, secret="s")
    app = Starlette(routes=routes(settings, processor), middleware=[Middleware(SecurityHeadersMiddleware)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
        yield Sandbox(processor, http)


async def setup_path(sandbox: Sandbox) -> str:
    url = await sandbox.processor.start_setup(customer_reference="cus_x", return_url=RETURN_URL)
    return httpx.URL(url).path


async def submit_card(sandbox: Sandbox, path: str, number: str, expiry: str = "12/34", cvc: str = "123"):
    page = await sandbox.http.get(path)
    data = {"number": number, "expiry": expiry, "cvc": cvc, "csrf_token": csrf_from(page)}
    return await sandbox.http.post(path, data=data)


async def challenge_path(sandbox: Sandbox, return_url: str = PAYMENT_RETURN_URL) -> tuple[str, str]:
    """A ¥980 charge of the test card that always asks for 3-D Secure: its reference and its challenge page."""
    card = await sandbox.processor.attach("pm_card_authenticationRequired", customer_reference="cus_x")
    request = ChargeRequest(card.token, 980, "JPY", idempotency_key="pay_1", return_url=return_url)
    result = await sandbox.processor.charge(request)
    assert result.status == ChargeStatus.REQUIRES_ACTION
    return result.reference, httpx.URL(result.next_action_url).path


async def answer(sandbox: Sandbox, path: str, decision: str) -> httpx.Response:
    page = await sandbox.http.get(path)
    return await sandbox.http.post(path, data={"decision": decision, "csrf_token": csrf_from(page)})


async def test_the_add_a_card_page_shows_the_form_and_the_test_cards(sandbox):
    page = await sandbox.http.get(await setup_path(sandbox))

    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    assert "Sandbox Payments" in html and "TEST MODE" in html
    assert html.count("<h1>") == 1 and "<main" in html
    assert '<label for="number">Card number</label>' in html
    assert 'inputmode="numeric" autocomplete="cc-number"' in html
    assert 'autocomplete="cc-exp"' in html and 'autocomplete="cc-csc"' in html
    assert "Save card" in html
    assert f'href="{RETURN_URL.replace("&", "&amp;")}&amp;setup_error=cancelled">Cancel</a>' in html
    for number in ("4242 4242 4242 4242", "4000 0000 0000 0002", "4000 0000 0000 9995", "4000 0000 0000 0069"):
        assert number in html
    assert "4000 0000 0000 0341" in html and "4000 0027 6000 3184" in html
    assert "Saved; every charge asks for 3-D Secure." in html
    assert "<style" not in html  # nothing inline: the CSP needs no nonce here


async def test_a_good_test_card_sends_the_customer_back_with_a_token_that_attaches(sandbox):
    answer = await submit_card(sandbox, await setup_path(sandbox), "4242 4242 4242 4242")

    assert answer.status_code == 303
    back = httpx.URL(answer.headers["location"])
    assert str(back.copy_remove_param("processor_token")) == RETURN_URL
    token = back.params["processor_token"]
    assert token.startswith("tok_")
    card = await sandbox.processor.attach(token, customer_reference="cus_x")
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("visa", "4242", 12, 2034)


async def test_a_second_submit_answers_the_first_card_instead_of_making_another(sandbox):
    path = await setup_path(sandbox)
    csrf = csrf_from(await sandbox.http.get(path))
    card = {"number": "4242424242424242", "expiry": "12/34", "cvc": "123", "csrf_token": csrf}

    first = await sandbox.http.post(path, data=card)
    again = await sandbox.http.post(path, data=card | {"number": "5555555555554444"})
    revisited = await sandbox.http.get(path)

    assert again.headers["location"] == revisited.headers["location"] == first.headers["location"]
    assert await SandboxCard.all().count() == 1


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("4242 4242 4242 4241", "Your card number is incorrect."),
        ("4000 0000 0000 0002", "Your card was declined. Try another card."),
        ("4000000000000069", "Your card has expired. Try another card."),
    ],
)
async def test_a_refused_card_is_explained_beside_an_empty_number_field(sandbox, number, message):
    answer = await submit_card(sandbox, await setup_path(sandbox), number, expiry="08/31", cvc="987")

    assert answer.status_code == 422
    assert message in answer.text
    number_input = NUMBER_INPUT.search(answer.text)[0]
    assert 'value=""' in number_input
    assert 'aria-invalid="true"' in number_input and 'aria-describedby="number-error"' in number_input
    assert '<p class="field-error" id="number-error">' in answer.text
    assert 'value="08/31"' in answer.text  # the expiry is kept …
    assert "987" not in CVC_INPUT.search(answer.text)[0]  # … the security code is not


async def test_a_mistyped_number_is_never_written_back_into_the_page(sandbox):
    answer = await submit_card(sandbox, await setup_path(sandbox), "4111 1111 1111 1112")
    assert answer.status_code == 422
    assert "4111 1111 1111 1112" not in answer.text and "4111111111111112" not in answer.text


async def test_a_past_expiry_is_pointed_out_on_the_expiry_field(sandbox):
    answer = await submit_card(sandbox, await setup_path(sandbox), "4242 4242 4242 4242", expiry="01/20")
    assert answer.status_code == 422
    assert 'aria-describedby="expiry-error"' in answer.text
    assert "Enter the expiry date as MM/YY, not in the past." in answer.text
    assert 'value="01/20"' in answer.text


async def test_the_card_number_reaches_neither_the_log_nor_the_database(sandbox, caplog):
    caplog.set_level(logging.DEBUG)  # tortoise logs every SQL statement with its values at DEBUG
    answer = await submit_card(sandbox, await setup_path(sandbox), "4000 0000 0000 0341")
    assert answer.status_code == 303
    assert "INSERT" in caplog.text
    assert "4000000000000341" not in caplog.text and "4000 0000 0000 0341" not in caplog.text


async def test_a_form_without_the_visitors_csrf_token_is_refused_and_saves_nothing(sandbox):
    path = await setup_path(sandbox)
    await sandbox.http.get(path)
    answer = await sandbox.http.post(path, data={"number": "4242424242424242", "expiry": "12/34", "cvc": "123"})
    assert answer.status_code == 403
    assert "This form has expired" in answer.text
    assert (await sandbox.http.get(path)).status_code == 200  # still waiting for its card


async def test_an_unknown_setup_is_not_found(sandbox):
    assert (await sandbox.http.get("/sandbox/setup/seti_doesnotexist")).status_code == 404
    answer = await sandbox.http.post("/sandbox/setup/seti_doesnotexist", data={"number": "4242424242424242"})
    assert answer.status_code == 404
    assert "Page not found" in answer.text


async def test_the_pages_read_right_to_left_in_arabic(sandbox):
    page = await sandbox.http.get(await setup_path(sandbox), params={"locale": "ar"})
    assert '<html lang="ar" dir="rtl">' in page.text
    assert 'dir="ltr"' in NUMBER_INPUT.search(page.text)[0]  # card numbers are written left to right everywhere


async def test_approving_the_3d_secure_challenge_completes_the_charge(sandbox):
    reference, path = await challenge_path(sandbox)
    page = await sandbox.http.get(path)
    assert page.status_code == 200
    assert "¥980" in page.text and "Visa •••• 3184" in page.text
    assert ">Approve</button>" in page.text and ">Fail</button>" in page.text

    answered = await answer(sandbox, path, "approve")

    assert answered.status_code == 303
    assert answered.headers["location"] == PAYMENT_RETURN_URL
    assert (await sandbox.processor.complete_charge(reference)).status == ChargeStatus.SUCCEEDED
    assert (await sandbox.http.get(path)).status_code == 404  # answered once, for good


async def test_failing_the_3d_secure_challenge_fails_the_charge(sandbox):
    reference, path = await challenge_path(sandbox)
    answered = await answer(sandbox, path, "fail")
    assert answered.headers["location"] == PAYMENT_RETURN_URL
    result = await sandbox.processor.complete_charge(reference)
    assert (result.status, result.decline_code) == (ChargeStatus.FAILED, DeclineCode.AUTHENTICATION_FAILED)


async def test_a_challenge_shows_the_amount_as_the_reader_writes_it(sandbox):
    _, path = await challenge_path(sandbox)
    page = await sandbox.http.get(path, params={"locale": "ar"})
    assert '<html lang="ar" dir="rtl">' in page.text
    assert "980\xa0JP¥" in page.text


async def test_a_challenge_without_a_return_url_ends_on_its_own_page(sandbox):
    reference, path = await challenge_path(sandbox, return_url="")
    answered = await answer(sandbox, path, "approve")
    assert answered.status_code == 200
    assert "You can close this page." in answered.text
    assert (await sandbox.processor.complete_charge(reference)).status == ChargeStatus.SUCCEEDED


async def test_a_challenge_answer_needs_the_csrf_token_and_a_known_decision(sandbox):
    reference, path = await challenge_path(sandbox)
    forged = await sandbox.http.post(path, data={"decision": "approve"})
    assert forged.status_code == 403
    assert (await answer(sandbox, path, "maybe")).status_code == 422
    assert (await sandbox.processor.complete_charge(reference)).status == ChargeStatus.REQUIRES_ACTION


async def test_an_unknown_challenge_is_not_found(sandbox):
    assert (await sandbox.http.get("/sandbox/authenticate/ch_doesnotexist")).status_code == 404
