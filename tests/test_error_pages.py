"""What a person sees when a page cannot be shown: a branded page in their language for every status a browser can
reach (404, 405, 413, 500 here; 403, 410 and 429 with the pages that answer them), while API clients keep JSON; and
the sign-in pages' small courtesies: the language kept across the redirect to sign in, the address kept after a
typo, "you are signed out", and the limits said on "check your email"."""

import html
import re

import pytest

from access.sessions import viewer_for_token
from core.i18n import SUPPORTED_LOCALES, text_direction, translations
from gateway.http.request_ids import REQUEST_ID_HEADER
from gateway.pages import login
from tests.support.factories import POLICY, unified_token
from tests.support.portal import create_shop, csrf_from

LANGUAGE_LINK = re.compile(r'<a href="([^"]+)" lang="([^"]+)" hreflang="\2"( aria-current="true")?>([^<]+)</a>')
BROWSER = {"accept": "text/html,application/xhtml+xml", "accept-language": "ja-JP,ja;q=0.9"}


def title_of(page: str) -> str:
    return re.search(r"<h1>(.*?)</h1>", page, re.S).group(1).strip()


def in_japanese(english: str) -> str:
    translated = translations("ja").gettext(english)
    assert translated != english, f"{english!r} has no Japanese translation"
    return translated


@pytest.mark.parametrize(
    ("method", "path", "status", "title"),
    [
        ("GET", "/nope", 404, "Page not found"),
        ("GET", "/graphql", 404, "Page not found"),
        ("GET", "/logout", 405, "This page cannot be opened that way"),
        ("POST", "/profile/nope", 404, "Page not found"),
    ],
)
async def test_a_browser_gets_a_branded_page_in_its_language(portal_http, method, path, status, title):
    answer = await portal_http.request(method, path, headers=BROWSER)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert '<html lang="ja" dir="ltr">' in answer.text
    assert title_of(answer.text) == in_japanese(title)
    assert "Customer Portal" in answer.text  # the portal's own brand, and the way back
    assert 'href="/"' in answer.text
    if status == 405:
        assert answer.headers["allow"] == "POST"


async def test_an_api_client_keeps_its_json_answers(portal_http):
    unknown = await portal_http.get("/nope", headers={"accept": "application/json"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "NOT_FOUND")
    no_query = await portal_http.get("/graphql", headers={"accept": "application/graphql-response+json"})
    assert no_query.status_code == 400 and "errors" in no_query.json()


async def test_a_form_past_the_size_limit_gets_the_page_in_the_readers_language(portal_http, portal_settings):
    page = await portal_http.get("/login", headers=BROWSER)
    form = {"csrf_token": csrf_from(page), "email": "x" * portal_settings.max_form_bytes}
    answer = await portal_http.post("/login", data=form, headers=BROWSER)
    assert answer.status_code == 413
    assert title_of(answer.text) == in_japanese("That was too much to send")


async def test_an_unexpected_error_gets_the_page_with_the_request_id(portal_http, monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(login, "find_by_client_id", broken)
    answer = await portal_http.get("/login/bus_anything", headers=BROWSER)
    assert answer.status_code == 500
    assert title_of(answer.text) == in_japanese("Something went wrong on our side")
    assert answer.headers[REQUEST_ID_HEADER] in answer.text
    assert "the database went away" not in answer.text
    api = await portal_http.get("/login/bus_anything")
    assert api.status_code == 500 and api.text == f"Unexpected error. Request id: {api.headers[REQUEST_ID_HEADER]}"


async def test_a_business_outside_the_session_is_not_found_in_the_sessions_language(portal_http):
    await create_shop("Acme Tools")
    token = await unified_token("ada@example.com")
    viewer = await viewer_for_token(token, POLICY)
    viewer.session.locale = "ja"
    await viewer.session.save(update_fields=["locale"])
    portal_http.cookies.set("portal_session", token)
    answer = await portal_http.get("/?business=bus_nope", headers={"accept": "text/html"})
    assert answer.status_code == 404
    assert '<html lang="ja"' in answer.text and title_of(answer.text) == in_japanese("Page not found")


async def test_the_language_picked_before_signing_in_survives_the_redirect(portal_http):
    answer = await portal_http.get("/?locale=ja")
    assert (answer.status_code, answer.headers["location"]) == (303, "/login?locale=ja")
    sign_in = await portal_http.get(answer.headers["location"])
    assert '<html lang="ja"' in sign_in.text
    assert (await portal_http.get("/billing-history")).headers["location"] == "/login"


async def test_a_mistyped_address_stays_in_the_field(portal_http):
    page = await portal_http.get("/login")
    answer = await portal_http.post("/login", data={"csrf_token": csrf_from(page), "email": "ada@"})
    assert answer.status_code == 422
    assert re.search(r'<input id="email"[^>]*value="ada@"', answer.text)
    assert 'aria-invalid="true"' in answer.text


async def test_check_your_email_says_links_can_be_slow_and_requests_are_limited(portal_http):
    await create_shop("Acme Tools", "ada@example.com")
    page = await portal_http.get("/login")
    answers = [
        await portal_http.post("/login", data={"csrf_token": csrf_from(page), "email": email})
        for email in ["ada@example.com"] * 6 + ["nobody@example.com"]
    ]
    hint = "we send only a few links to one address in 15 minutes"
    assert all(answer.status_code == 200 and hint in answer.text for answer in answers)
    # Tokens and nonces differ per answer; nothing else may, or the page would tell who is a customer.
    assert len({re.sub(r'(value|nonce|content)="[^"]*"', "", answer.text) for answer in answers}) == 1


async def test_the_language_switcher_is_one_line_naming_the_language_and_one_click_to_another(portal_http):
    page = (await portal_http.get("/login?business=x&locale=zh-Hant")).text
    switcher = re.search(r'<details class="languages">.*?</details>', page, flags=re.S)
    assert switcher and "<form" not in switcher[0] and "<select" not in switcher[0]
    summary = re.search(r"<summary>(.*?)</summary>", switcher[0])
    assert summary and summary[1].endswith('<span lang="zh-Hant">中文 (繁體)</span>')
    links = LANGUAGE_LINK.findall(switcher[0])
    assert [code for _, code, _, _ in links] == list(SUPPORTED_LOCALES)
    assert [(code, name) for _, code, current, name in links if current] == [("zh-Hant", "中文 (繁體)")]
    swedish = next(href for href, code, _, _ in links if code == "sv")
    assert swedish == "/login?business=x&amp;locale=sv"
    answer = await portal_http.get(html.unescape(swedish))
    assert '<html lang="sv" dir="ltr">' in answer.text


@pytest.mark.parametrize(
    ("accept_language", "lang"), [("zh-TW,zh;q=0.9", "zh-Hant"), ("pt-PT", "pt-BR"), ("no, nb", "en"), ("he", "he")]
)
async def test_a_browsers_languages_pick_the_page_language(portal_http, accept_language, lang):
    page = (await portal_http.get("/login", headers={"accept-language": accept_language})).text
    assert f'<html lang="{lang}" dir="{text_direction(lang)}">' in page
