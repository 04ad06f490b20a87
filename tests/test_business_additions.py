"""Adding a business to the unified portal. A unified sign-in proves the inbox, not that a business's record with
that address is the person's: a record joins their unified portal only once they add its business, pressing
"Add <business>" on the unified home or calling `addBusiness`. Any business without a record of the email in the
session's mode answers exactly like a missing one, and a session of one business's portal adds nothing."""

import re

import httpx

from gateway.worker import process_due_emails
from models import Customer
from tests.support.factories import business_token, unified_token
from tests.support.merchant import merchant
from tests.support.portal import ask_for_sign_in_link, create_shop, csrf_from, follow_link

TO_ADD = "{ viewer { businesses { name } businessesToAdd { name } } }"
ADD = """mutation Add($id: ID!) { addBusiness(input: {businessId: $id}) {
  business { name subscriptions(first: 5) { totalCount } } errors { code field message } } }"""


async def graphql(http: httpx.AsyncClient, token: str, query: str, **variables: object) -> dict:
    answer = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    return answer.json()["data"]


def page_without(asked_id: str, page: httpx.Response) -> str:
    """The page without its per-response nonce and the id asked for (the language switcher's links name the path)."""
    return re.sub(r'nonce="[^"]+"', "", page.text).replace(asked_id, "ID")


async def test_a_business_that_makes_a_record_with_your_email_joins_your_portal_only_when_you_add_it(
    portal_http, portal_settings, mailbox
) -> None:
    await create_shop("Acme Tools")
    rogue = await merchant("Rogue")
    made = await portal_http.post("/customers", json={"email": "ada@example.com"}, headers=rogue.live)
    record_id = made.json()["customer_id"]
    await ask_for_sign_in_link(portal_http, "/login", "ada@example.com")
    await process_due_emails(portal_settings)
    await follow_link(portal_http, mailbox.links()[-1])

    home = await portal_http.get("/")

    assert "Acme Tools" in home.text and f'href="/?business={rogue.business.id}"' not in home.text
    assert (await portal_http.get("/", params={"business": rogue.business.id})).status_code == 404
    assert not (await Customer.get(id=record_id)).email_verified
    assert "Businesses that say they know ada@example.com" in home.text and "Add Rogue" in home.text

    added = await portal_http.post(f"/businesses/{rogue.business.id}/add", data={"csrf_token": csrf_from(home)})
    home = await portal_http.get("/")

    assert added.status_code == 303 and added.headers["location"] == "/"
    assert f'href="/?business={rogue.business.id}"' in home.text and "Add Rogue" not in home.text
    assert (await Customer.get(id=record_id)).email_verified


async def test_adding_needs_the_visitors_csrf_token(portal_http) -> None:
    globex = await create_shop("Globex", verified=False)
    portal_http.cookies.set("portal_session", await unified_token("ada@example.com"))
    await portal_http.get("/")

    missing = await portal_http.post(f"/businesses/{globex.business.id}/add")
    forged = await portal_http.post(f"/businesses/{globex.business.id}/add", data={"csrf_token": "0" * 64})

    assert missing.status_code == forged.status_code == 403
    assert not (await Customer.get(id=globex.customer.id)).email_verified


async def test_on_the_page_a_business_without_a_record_of_the_email_is_a_404_like_a_missing_one(portal_http) -> None:
    others = await create_shop("Elsewhere", email="bob@example.com", verified=False)
    in_test_mode = await create_shop("Testing", livemode=False, verified=False)
    portal_http.cookies.set("portal_session", await unified_token("ada@example.com"))
    csrf = csrf_from(await portal_http.get("/"))

    asked = (others.business.id, in_test_mode.business.id, "bus_doesnotexist", "not-an-id")
    answers = [
        await portal_http.post(f"/businesses/{business_id}/add", data={"csrf_token": csrf}) for business_id in asked
    ]

    assert {answer.status_code for answer in answers} == {404}
    assert len({page_without(business_id, answer) for business_id, answer in zip(asked, answers, strict=True)}) == 1
    assert await Customer.filter(email_verified=True).count() == 0


async def test_graphql_lists_the_businesses_to_add_and_adds_one(portal_http) -> None:
    await create_shop("Acme Tools")
    globex = await create_shop("Globex", verified=False)
    await create_shop("Elsewhere", email="bob@example.com", verified=False)
    await create_shop("Testing", livemode=False, verified=False)
    token = await unified_token("ada@example.com")

    before = (await graphql(portal_http, token, TO_ADD))["viewer"]
    added = (await graphql(portal_http, token, ADD, id=globex.business.id))["addBusiness"]
    again = (await graphql(portal_http, token, ADD, id=globex.business.id))["addBusiness"]
    after = (await graphql(portal_http, token, TO_ADD))["viewer"]

    assert before == {"businesses": [{"name": "Acme Tools"}], "businessesToAdd": [{"name": "Globex"}]}
    assert added == {"business": {"name": "Globex", "subscriptions": {"totalCount": 1}}, "errors": []}
    assert again == added
    assert after == {"businesses": [{"name": "Acme Tools"}, {"name": "Globex"}], "businessesToAdd": []}


async def test_graphql_answers_a_business_without_a_record_of_the_email_like_a_missing_one(portal_http) -> None:
    others = await create_shop("Elsewhere", email="bob@example.com", verified=False)
    in_test_mode = await create_shop("Testing", livemode=False, verified=False)
    token = await unified_token("ada@example.com")

    answers = [
        (await graphql(portal_http, token, ADD, id=business_id))["addBusiness"]
        for business_id in (others.business.id, in_test_mode.business.id, "bus_doesnotexist", "")
    ]

    assert answers[0]["business"] is None and answers[0]["errors"][0]["code"] == "NOT_FOUND"
    assert answers[0]["errors"][0]["field"] == "businessId"
    assert all(answer == answers[0] for answer in answers)
    assert await Customer.filter(email_verified=True).count() == 0


async def test_a_session_of_one_business_adds_nothing(portal_http) -> None:
    """A business's own portal session (which its merchant can mint) proves nothing about the inbox."""
    rogue = await create_shop("Rogue", verified=False)
    acme = await create_shop("Acme Tools", verified=False)
    token = await business_token(rogue.customer)

    listed = (await graphql(portal_http, token, TO_ADD))["viewer"]["businessesToAdd"]
    answer = (await graphql(portal_http, token, ADD, id=acme.business.id))["addBusiness"]

    assert listed == [] and answer["errors"][0]["code"] == "NOT_FOUND"
    assert await Customer.filter(email_verified=True).count() == 0
