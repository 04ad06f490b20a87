"""Email-code sign-in for apps without a browser: `POST /auth/email-code` answers the same whatever the email, and
`POST /auth/token` trades a code, once, in time and within 5 tries, for a Bearer token of the customer API."""

import asyncio
import hashlib
import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from access.email_codes import EmailCodeRefused, code_hash, exchange_email_code, request_email_code
from access.sessions import SessionPolicy
from core.email_outbox import opened_context
from core.i18n import translations
from gateway.worker.mailer import compose_email
from models import Business, Customer, EmailCode, EmailMessage, PortalSession

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECRET = "test-secret-key-not-for-production"
ADDRESS = "203.0.113.9"
VIEWER = "{ viewer { scope livemode email customer { id } businesses { name } } }"


@pytest.fixture
async def shops() -> dict:
    """Alice buys from Acme and Bravo (live), and from Acme in test mode."""
    acme = await Business.create(name="Acme", support_email="help@acme.example")
    bravo = await Business.create(name="Bravo", support_email="help@bravo.example")

    async def customer(business: Business, livemode: bool = True) -> Customer:
        return await Customer.create(business=business, email="alice@example.com", livemode=livemode)

    return {
        "acme": acme,
        "bravo": bravo,
        "alice": await customer(acme),
        "alice_bravo": await customer(bravo),
        "alice_test": await customer(acme, livemode=False),
    }


async def ask(client: httpx.AsyncClient, body: dict, test: bool = False, **headers: str) -> httpx.Response:
    return await client.post(f"{'/test' if test else ''}/auth/email-code", json=body, headers=headers)


async def trade(client: httpx.AsyncClient, body: dict, test: bool = False) -> httpx.Response:
    return await client.post(f"{'/test' if test else ''}/auth/token", json=body)


async def emailed_codes() -> list[str]:
    messages = await EmailMessage.filter(template="email_code").order_by("created_at", "id")
    return [opened_context(message, SECRET)["code"] for message in messages]


async def viewer(client: httpx.AsyncClient, token: str) -> dict | None:
    response = await client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"})
    return response.json()["data"]["viewer"]


async def test_a_code_for_one_business_opens_that_customers_portal(client, shops) -> None:
    asked = await ask(client, {"email": "Alice@Example.com", "business_id": shops["acme"].id})
    [code] = await emailed_codes()

    response = await trade(client, {"email": "alice@example.com", "business_id": shops["acme"].id, "code": code})

    assert asked.status_code == 202
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "expires_at", "scope", "customer_id"}
    assert (body["scope"], body["customer_id"]) == ("business", shops["alice"].id)
    seen = await viewer(client, body["access_token"])
    assert (seen["scope"], seen["livemode"], seen["customer"]) == ("BUSINESS", True, {"id": shops["alice"].id})
    assert seen["businesses"] == [{"name": "Acme"}]
    assert (await Customer.get(id=shops["alice"].id)).email_verified is True


async def test_a_code_token_lives_the_access_token_lifetime_not_a_browser_sessions(client, shops, settings) -> None:
    await ask(client, {"email": "alice@example.com", "business_id": shops["acme"].id})
    [code] = await emailed_codes()

    body = (await trade(client, {"email": "alice@example.com", "business_id": shops["acme"].id, "code": code})).json()

    session = await PortalSession.get(customer_id=shops["alice"].id)
    assert settings.access_token_seconds != settings.session_max_seconds
    assert session.expires_at - session.last_seen_at == timedelta(seconds=settings.access_token_seconds)
    assert datetime.fromisoformat(body["expires_at"]) == session.expires_at


async def test_a_code_without_a_business_opens_the_unified_portal(client, shops) -> None:
    await Customer.filter(id=shops["alice_bravo"].id).update(email_verified=True)
    await ask(client, {"email": "alice@example.com"})
    [code] = await emailed_codes()

    body = (await trade(client, {"email": "alice@example.com", "code": code})).json()

    assert (body["scope"], body["customer_id"]) == ("unified", None)
    seen = await viewer(client, body["access_token"])
    assert (seen["scope"], seen["email"]) == ("UNIFIED", "alice@example.com")
    # Only the record Alice proved at Bravo: the code proves her inbox, not that Acme's record is hers.
    assert [b["name"] for b in seen["businesses"]] == ["Bravo"]
    assert not (await Customer.get(id=shops["alice"].id)).email_verified


async def test_test_mode_codes_open_test_data_only(client, shops) -> None:
    await ask(client, {"email": "alice@example.com", "business_id": shops["bravo"].id}, test=True)
    assert await emailed_codes() == []  # Alice has no test-mode record at Bravo

    await ask(client, {"email": "alice@example.com", "business_id": shops["acme"].id}, test=True)
    [code] = await emailed_codes()
    live_try = await trade(client, {"email": "alice@example.com", "business_id": shops["acme"].id, "code": code})
    body = (
        await trade(client, {"email": "alice@example.com", "business_id": shops["acme"].id, "code": code}, test=True)
    ).json()

    assert live_try.status_code == 400
    assert body["customer_id"] == shops["alice_test"].id
    assert (await viewer(client, body["access_token"]))["livemode"] is False


async def test_the_answer_is_the_same_for_known_and_unknown_emails_and_businesses(client, shops) -> None:
    bodies = [
        {"email": "alice@example.com", "business_id": shops["acme"].id},
        {"email": "alice@example.com"},
        {"email": "nobody@example.com", "business_id": shops["acme"].id},
        {"email": "nobody@example.com"},
        {"email": "alice@example.com", "business_id": "bus_doesnotexist0000000000"},
        {"email": "alice@example.com", "business_id": "not-a-business"},
    ]
    # Past the per-email limit (5 in 15 minutes), the answer does not change either.
    bodies += [{"email": "alice@example.com", "business_id": shops["bravo"].id}] * 6

    answers = [await ask(client, body) for body in bodies]

    def what_a_caller_sees(response: httpx.Response) -> tuple:
        headers = tuple(response.headers.get(name) for name in ("content-type", "content-length", "cache-control"))
        return response.status_code, headers, response.content

    assert what_a_caller_sees(answers[0])[0] == 202
    assert {what_a_caller_sees(answer) for answer in answers} == {what_a_caller_sees(answers[0])}
    # Codes went to Alice for Acme, the unified portal, and Bravo up to its limit; never to the unknown ones.
    assert len(await emailed_codes()) == 2 + 5
    assert await EmailMessage.filter(to_email="nobody@example.com").count() == 0


async def test_a_wrong_code_counts_and_the_right_one_still_works(client, shops) -> None:
    await ask(client, {"email": "alice@example.com"})
    [code] = await emailed_codes()
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    refused = await trade(client, {"email": "alice@example.com", "code": wrong})
    accepted = await trade(client, {"email": "alice@example.com", "code": code})

    assert refused.status_code == 400
    assert refused.json()["code"] == "INVALID_CODE"
    assert (await EmailCode.get()).attempts == 1
    assert accepted.status_code == 200


async def test_five_wrong_tries_kill_the_code(client, shops) -> None:
    await ask(client, {"email": "alice@example.com"})
    [code] = await emailed_codes()
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    answers = [await trade(client, {"email": "alice@example.com", "code": wrong}) for _ in range(5)]
    after = await trade(client, {"email": "alice@example.com", "code": code})

    assert {(answer.status_code, answer.content) for answer in answers} == {(400, after.content)}
    assert after.status_code == 400
    assert await PortalSession.all().count() == 0


async def test_a_code_works_once(client, shops) -> None:
    await ask(client, {"email": "alice@example.com"})
    [code] = await emailed_codes()

    first = await trade(client, {"email": "alice@example.com", "code": code})
    second = await trade(client, {"email": "alice@example.com", "code": code})

    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json()["message"] == (await trade(client, {"email": "x@example.com", "code": code})).json()["message"]
    assert await PortalSession.all().count() == 1


async def test_a_newer_code_voids_the_older_one(client, shops) -> None:
    await ask(client, {"email": "alice@example.com"})
    await ask(client, {"email": "alice@example.com"})
    older, newer = await emailed_codes()

    assert (await trade(client, {"email": "alice@example.com", "code": older})).status_code == 400
    assert (await trade(client, {"email": "alice@example.com", "code": newer})).status_code == 200


async def request_at(now: datetime, business_id: str | None = None) -> str:
    await request_email_code(
        email="alice@example.com",
        business_id=business_id,
        livemode=True,
        locale="en",
        client_ip=ADDRESS,
        secret_key=SECRET,
        portal_name="Portal",
        now=now,
    )
    return (await emailed_codes())[-1]


async def exchange_at(now: datetime, code: str, business_id: str | None = None) -> str:
    token, _ = await exchange_email_code(
        email="alice@example.com",
        business_id=business_id,
        code=code,
        livemode=True,
        client_ip=ADDRESS,
        secret_key=SECRET,
        policy=SessionPolicy(),
        portal_name="Portal",
        now=now,
    )
    return token


async def test_a_code_expires_after_15_minutes(shops) -> None:
    code = await request_at(NOW)
    with pytest.raises(EmailCodeRefused) as refused:
        await exchange_at(NOW + timedelta(minutes=15), code)
    assert refused.value.retry_after is None

    code = await request_at(NOW)
    assert (await exchange_at(NOW + timedelta(minutes=14, seconds=59), code)).startswith("cps_")


async def test_tries_are_rate_limited_per_client_address(shops) -> None:
    code = await request_at(NOW)
    for n in range(30):
        with pytest.raises(EmailCodeRefused):
            await exchange_email_code(
                email=f"someone{n}@example.com",
                business_id=None,
                code="000000",
                livemode=True,
                client_ip=ADDRESS,
                secret_key=SECRET,
                policy=SessionPolicy(),
                portal_name="Portal",
                now=NOW,
            )

    with pytest.raises(EmailCodeRefused) as refused:
        await exchange_at(NOW, code)

    assert refused.value.retry_after == 900 - (NOW.minute * 60) % 900
    assert await exchange_at(NOW + timedelta(minutes=15), await request_at(NOW + timedelta(minutes=15)))


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def test_wrong_codes_for_every_business_and_the_unified_portal_spend_one_budget(shops) -> None:
    acme, bravo = shops["acme"].id, shops["bravo"].id
    codes = {business_id: await request_at(NOW, business_id) for business_id in (acme, bravo, None)}
    # 4 + 3 + 3 wrong tries: no code reaches its own 5, yet together they spend the email's 10.
    for business_id, tries in ((acme, 4), (bravo, 3), (None, 3)):
        for _ in range(tries):
            with pytest.raises(EmailCodeRefused):
                await exchange_at(NOW, wrong(codes[business_id]), business_id)

    for business_id, code in codes.items():
        with pytest.raises(EmailCodeRefused) as refused:
            await exchange_at(NOW + timedelta(minutes=1), code, business_id)
        assert refused.value.retry_after == 86400 - 60
    assert await PortalSession.all().count() == 0


async def test_a_locked_out_email_answers_like_an_unknown_one(client, shops) -> None:
    await ask(client, {"email": "alice@example.com"})
    [code] = await emailed_codes()

    answers = []
    for email in ("alice@example.com", "nobody@example.com"):
        for _ in range(10):
            await trade(client, {"email": email, "code": wrong(code)})
        answers.append(await trade(client, {"email": email, "code": code}))

    known, unknown = answers
    assert (known.status_code, known.json()["code"]) == (unknown.status_code, unknown.json()["code"])
    assert (known.status_code, known.json()["code"]) == (429, "RATE_LIMITED")
    assert 86400 - 60 < int(known.headers["retry-after"]) <= 86400
    assert abs(int(known.headers["retry-after"]) - int(unknown.headers["retry-after"])) <= 1
    assert await PortalSession.all().count() == 0


async def test_the_owner_is_told_once_and_code_sign_in_resumes_after_a_day(settings, shops) -> None:
    code = await request_at(NOW)
    for minute in range(12):
        with pytest.raises(EmailCodeRefused):
            await exchange_at(NOW + timedelta(minutes=minute), wrong(code))
    paused_until = NOW + timedelta(minutes=9, hours=24)  # a day after the 10th wrong code

    [told] = await EmailMessage.filter(template="code_sign_in_paused")
    assert (told.to_email, told.locale) == ("alice@example.com", "en")
    assert told.context["paused_until"] == paused_until.isoformat()
    mime = compose_email(told, settings)
    assert mime["Subject"] == "Sign-in by code is paused"
    assert "paused until March 2, 2026, 12:09:00\u202fPM UTC" in mime.get_body(preferencelist=("plain",)).get_content()
    # While paused, asking for a code sends none: it could not be used.
    await request_email_code(
        email="alice@example.com",
        business_id=None,
        livemode=True,
        locale="en",
        client_ip=ADDRESS,
        secret_key=SECRET,
        portal_name="Portal",
        now=paused_until - timedelta(minutes=1),
    )
    assert len(await emailed_codes()) == 1

    assert (await exchange_at(paused_until, await request_at(paused_until))).startswith("cps_")
    assert await EmailMessage.filter(template="code_sign_in_paused").count() == 1


async def test_concurrent_tries_cannot_overrun_the_budget(shops) -> None:
    code = await request_at(NOW)

    tries = await asyncio.gather(*(exchange_at(NOW, wrong(code)) for _ in range(15)), return_exceptions=True)

    assert all(isinstance(answer, EmailCodeRefused) for answer in tries)
    assert sum(answer.retry_after is None for answer in tries) == 10  # compared; the other 5 refused unseen
    with pytest.raises(EmailCodeRefused):
        await exchange_at(NOW, code)


async def test_only_wrong_codes_spend_the_budget(shops) -> None:
    for hour in range(3):  # three sign-ins, an hour apart (sign-in emails have their own limit)
        assert await exchange_at(NOW + timedelta(hours=hour), await request_at(NOW + timedelta(hours=hour)))
    later = NOW + timedelta(hours=3)
    for tries in (5, 4):  # 9 wrong tries over two codes (each dies after 5)
        code = await request_at(later)
        for _ in range(tries):
            with pytest.raises(EmailCodeRefused):
                await exchange_at(later, wrong(code))

    assert (await exchange_at(later, code)).startswith("cps_")


async def test_the_code_is_stored_keyed_by_the_servers_secret(shops) -> None:
    code = await request_at(NOW, shops["acme"].id)
    stored = (await EmailCode.get()).code_hash

    assert stored == code_hash(
        code, email="alice@example.com", business_id=shops["acme"].id, livemode=True, secret_key=SECRET
    )
    assert code not in stored
    assert stored != hashlib.sha256(code.encode()).hexdigest()
    # Without the secret key, trying every code against the table finds nothing.
    assert stored != code_hash(
        code, email="alice@example.com", business_id=shops["acme"].id, livemode=True, secret_key=""
    )


async def test_the_code_email_is_in_the_outbox_in_the_customers_language(client, settings, shops) -> None:
    await ask(client, {"email": "alice@example.com", "business_id": shops["acme"].id}, **{"Accept-Language": "ja"})

    message = await EmailMessage.get(template="email_code")
    mime = compose_email(message, settings)
    text = mime.get_body(preferencelist=("plain",)).get_content()
    names = {"portal": "Customer Portal", "business": "Acme"}
    sent_by = "Sent by %(portal)s on behalf of %(business)s."
    in_japanese = translations("ja").gettext(sent_by) % names

    assert (message.to_email, message.locale, message.from_name) == (
        "alice@example.com",
        "ja",
        "Acme via Customer Portal",
    )
    assert message.reply_to == "help@acme.example"
    assert mime["Content-Language"] == "ja"
    assert opened_context(message, SECRET)["code"] in text
    assert in_japanese != sent_by % names and in_japanese in text


@pytest.mark.parametrize(
    "body", [{"email": "not an email"}, {"business_id": "bus_x"}, {"email": ["alice@example.com"]}, "alice"]
)
async def test_a_malformed_request_is_refused_and_sends_nothing(client, shops, body: object) -> None:
    asked = await client.post("/auth/email-code", json=body)
    traded = await client.post("/auth/token", json=body)

    assert (asked.status_code, traded.status_code) == (422, 422)
    assert await EmailMessage.all().count() == 0


async def test_neither_codes_nor_tokens_reach_the_log(client, shops, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    # The app keeps httpx's per-request lines out of the log (they would name Stripe's intents); the test client's
    # own lines are what shows the log was captured at all.
    caplog.set_level(logging.DEBUG, logger="httpx")
    await ask(client, {"email": "alice@example.com"})
    [code] = await emailed_codes()
    token = (await trade(client, {"email": "alice@example.com", "code": code})).json()["access_token"]

    # The database driver's DEBUG log writes every SQL parameter, the outbox row's included: never on in production.
    logged = [record.getMessage() for record in caplog.records if not record.name.startswith(("tortoise", "aiosqlite"))]
    assert logged
    assert not any(code in line or token in line for line in logged)
