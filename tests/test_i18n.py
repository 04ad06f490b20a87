"""The translation catalogs and the choice of language: every .po compiles without errors, translates every
string the templates and the Python modules of `core`, `access` and `billing` use, matches its committed .mo;
locales are negotiated and written as the reader expects."""

import collections
import re
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

import access
import billing
import core
from core.i18n import (
    LOCALE_DIR,
    SUPPORTED_LOCALES,
    babel_locale,
    catalog_path,
    format_day,
    language_name,
    negotiate_locale,
    supported_locale,
    text_direction,
    translations,
)
from gateway.templating import TEMPLATE_DIR, render

TRANSLATED = [locale for locale in SUPPORTED_LOCALES if locale != "en"]


def catalog(locale: str):
    with open(LOCALE_DIR / babel_locale(locale) / "LC_MESSAGES" / "messages.po", "rb") as source:
        return read_po(source, locale=babel_locale(locale))


def source_messages() -> set:
    """Every msgid the templates and the Python modules of `core`, `access` and `billing` use, extracted as
    `pybabel extract -F core/locale/babel.cfg` does."""
    template_map = [("**.html", "jinja2"), ("**.txt", "jinja2")]
    options = {"**": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}}
    extracted = list(extract_from_dir(str(TEMPLATE_DIR), template_map, options))
    for package in (core, access, billing):
        extracted += extract_from_dir(str(Path(package.__file__).parent), [("**.py", "python")])
    return {message if isinstance(message, str) else tuple(message) for _, _, message, _, _ in extracted}


@pytest.mark.parametrize("locale", TRANSLATED)
def test_each_catalog_compiles_without_errors(locale):
    messages = catalog(locale)
    assert not messages.fuzzy
    problems = [(message.id, errors) for message, errors in messages.check()]
    assert problems == []
    write_mo(BytesIO(), messages)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_each_catalog_translates_every_string(locale):
    messages = catalog(locale)
    untranslated = [message.id for message in messages if message.id and not all(_forms(message.string))]
    fuzzy = [message.id for message in messages if message.id and message.fuzzy]
    missing = [msgid for msgid in source_messages() if messages.get(msgid) is None]
    assert (untranslated, fuzzy, missing) == ([], [], [])
    plural_forms = {len(_forms(message.string)) for message in messages if message.pluralizable}
    assert plural_forms == {messages.num_plurals}


# A Python %-placeholder, `%(name)s`, `%(num)d` or `%s`, and `%%`, which prints a percent sign.
_PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?([sdifr%])")


def placeholders(text: str) -> collections.Counter:
    return collections.Counter(match.group(0) for match in _PLACEHOLDER.finditer(text))


# What a plural form may leave out: the number itself (Arabic writes "one day", not "1 day").
_PLURAL_NUMBER = {f"%({name}){kind}" for name in ("num", "count") for kind in "ds"}


@pytest.mark.parametrize("locale", TRANSLATED)
def test_each_translation_keeps_the_placeholders_of_its_source(locale):
    wrong = []
    for message in catalog(locale):
        if not message.id:
            continue
        source = placeholders(_forms(message.id)[-1])
        optional = _PLURAL_NUMBER if message.pluralizable else set()
        for form in filter(None, _forms(message.string)):  # an empty form is the test above's to report
            found = placeholders(form)
            if found - source or {name for name in source - found if name not in optional}:
                wrong.append((_forms(message.id)[0], form))
    assert wrong == []


@pytest.mark.parametrize("locale", TRANSLATED)
def test_the_committed_mo_matches_its_po(locale):
    with catalog_path(locale).open("rb") as compiled:
        committed = _entries(read_mo(compiled))
    assert committed == _entries(catalog(locale)), "run `pybabel compile -d core/locale`"


def _forms(string: str | tuple | list) -> tuple:
    return (string,) if isinstance(string, str) else tuple(string)


def _entries(messages) -> dict:
    """msgid → translation, plural forms as tuples, whether read from a .po or a .mo."""
    return {_forms(message.id): _forms(message.string) for message in messages if message.id}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ja-JP,ja;q=0.9,en;q=0.8", "ja"),
        ("da-DK, sv;q=0.7, en;q=0.5", "sv"),
        ("en;q=0.2, ar-EG", "ar"),
        ("fr-CA, de", "fr"),
        ("sv;q=0, ja;q=0.1", "ja"),
        ("zh-TW,zh;q=0.9", "zh-Hant"),
        ("zh-HK", "zh-Hant"),
        ("zh-Hant-TW", "zh-Hant"),
        ("zh-CN,zh;q=0.9", "zh-Hans"),
        ("zh", "zh-Hans"),
        ("zh-Hans-HK", "zh-Hans"),
        ("pt", "pt-BR"),
        ("pt-PT,pt;q=0.9", "pt-BR"),
        ("iw-IL", "he"),
        ("in", "id"),
        ("no, nb;q=0.9", "en"),
        ("nb-NO, de;q=0.5", "de"),
        ("", "en"),
        (None, "en"),
        ("ar;q=oops, sv", "sv"),
    ],
)
def test_accept_language_picks_the_best_supported_locale(header, expected):
    assert negotiate_locale(header) == expected


def test_locale_tags_and_directions():
    assert [supported_locale(tag) for tag in ("sv_SE", "JA", "ar-SA", "pt-br", "zh_hant", "no", "", None)] == [
        "sv",
        "ja",
        "ar",
        "pt-BR",
        "zh-Hant",
        None,
        None,
        None,
    ]
    right_to_left = [locale for locale in SUPPORTED_LOCALES if text_direction(locale) == "rtl"]
    assert right_to_left == ["ar", "he"]


def test_every_language_is_named_in_itself():
    names = {locale: language_name(locale) for locale in SUPPORTED_LOCALES}
    assert (names["de"], names["ja"], names["zh-Hant"], names["pt-BR"]) == (
        "Deutsch",
        "日本語",
        "中文 (繁體)",
        "Português (Brasil)",
    )
    assert len(set(names.values())) == len(SUPPORTED_LOCALES)


def test_days_are_written_for_the_reader():
    moment = datetime(2031, 3, 5, 23, 30, tzinfo=UTC)
    days = {locale: format_day(moment, locale) for locale in ("en", "ja", "sv", "ar", "pt-BR", "zh-Hant", "he")}
    assert days == {
        "en": "March 5, 2031",
        "ja": "2031年3月5日",
        "sv": "5 mars 2031",
        "ar": "5 مارس 2031",
        "pt-BR": "5 de março de 2031",
        "zh-Hant": "2031年3月5日",
        "he": "5 במרץ 2031",
    }


def test_templates_speak_the_readers_language():
    page = {"business_name": "Acme", "expires_minutes": 15, "link": "https://x/session/cpl_x", "livemode": True}
    assert render("email/sign_in.subject.txt", "sv", **page).strip() == "Din inloggningslänk till Acme"
    assert "15 minuter" in render("email/sign_in.txt", "sv", portal_name="P", support_email="", **page)
    assert "1 minut." in render(
        "email/sign_in.txt", "sv", portal_name="P", support_email="", **(page | {"expires_minutes": 1})
    )
    assert translations("ar").gettext("Sign out") == "تسجيل الخروج"
    assert translations("en").gettext("Sign out") == "Sign out"
