"""The budget of wrong sign-in codes: one per normalised email and mode, shared by every business's portal and the
unified portal, so spreading guesses over them gains an attacker nothing.

A budget counts the wrong codes typed in a period of PERIOD that starts with a try. The wrong code that spends it
pauses code sign-in for the email for PAUSE, and the owner of the address, when it is a customer's, gets one email
saying so; sign-in links keep working meanwhile, since they need the mailbox rather than a guess. So at most
BUDGET guesses a day reach an email's codes: with 6-digit codes, at most 320 in any 31 days, a chance of at most
0.032 % that one of them is right (each code also dies after its own 5 wrong tries, access.email_codes).

A try is taken from the budget before its code is compared, by a conditional UPDATE, so concurrent tries cannot
overrun it; a right code gives its try back. Tries are counted whether or not the email is anybody's, so a paused
email answers exactly like an unknown one.

Uses core.email_outbox (the owner's email).
"""

from datetime import datetime, timedelta

from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet

from core.email_outbox import branding_context, enqueue_email
from core.i18n import DEFAULT_LOCALE, supported_locale
from models import Customer, EmailCodeBudget

PAUSED_TEMPLATE = "code_sign_in_paused"
BUDGET = 10
PERIOD = timedelta(hours=24)
PAUSE = timedelta(hours=24)


async def paused_until(email: str, livemode: bool, now: datetime) -> datetime | None:
    """When code sign-in for the (normalised) email resumes, if it is paused now."""
    budget = await _budget(email, livemode).filter(paused_until__gt=now).first()
    return budget.paused_until if budget else None


async def take_try(email: str, livemode: bool, now: datetime) -> datetime | None:
    """Take one try from the email's budget before its code is compared; when none is left, when it may try again
    instead."""
    await EmailCodeBudget.bulk_create(
        [EmailCodeBudget(email=email, livemode=livemode, since=now)], ignore_conflicts=True
    )
    over = Q(paused_until__lte=now) | Q(paused_until__isnull=True, since__lte=now - PERIOD)
    await _budget(email, livemode).filter(over).update(failures=0, since=now, paused_until=None)
    taken = (
        await _budget(email, livemode)
        .filter(failures__lt=BUDGET, paused_until__isnull=True)
        .update(failures=F("failures") + 1)
    )
    if taken:
        return None
    # Spent by tries still being compared, or paused already.
    return await paused_until(email, livemode, now) or now + PAUSE


async def give_back_try(email: str, livemode: bool) -> None:
    """A right code spends nothing."""
    await _budget(email, livemode).filter(failures__gt=0).update(failures=F("failures") - 1)


async def keep_try(email: str, livemode: bool, *, portal_name: str, now: datetime) -> None:
    """The try was a wrong code: if it spent the budget, pause code sign-in and tell the owner, once."""
    until = now + PAUSE
    paused = (
        await _budget(email, livemode)
        .filter(failures__gte=BUDGET, paused_until__isnull=True)
        .update(paused_until=until)
    )
    owner = await _owner(email, livemode) if paused else None
    if owner is not None:
        await enqueue_email(
            to_email=email,
            template=PAUSED_TEMPLATE,
            context={**branding_context(None, portal_name, livemode), "paused_until": until.isoformat()},
            locale=supported_locale(owner.locale) or DEFAULT_LOCALE,
            business=None,
            livemode=livemode,
            from_name=portal_name,
            reply_to="",
            now=now,
        )


async def _owner(email: str, livemode: bool) -> Customer | None:
    """The newest customer record with the email, whose language the notice speaks; None when it is nobody's."""
    return await Customer.filter(email=email, livemode=livemode).order_by("-created_at", "-id").first()


def _budget(email: str, livemode: bool) -> QuerySet[EmailCodeBudget]:
    return EmailCodeBudget.filter(email=email, livemode=livemode)
