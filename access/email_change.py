"""Changing a customer's email address, proven by a one-use link sent to the new address.

Asking (a signed-in session, where every business in scope allows `email` in `customer_update.allowed_updates`)
emails the new address a link, valid 24 hours, in the customer's language; only the SHA-256 of its token is stored,
and a newer request replaces an older link. The answer is the same whether or not the new address is a customer
anywhere: only its owner, opening the link, can learn of a conflict.

Opening the link never burns it (mail scanners prefetch links): `peek_email_change` only reads, for the confirm
step; `confirm_email_change` does the change in one transaction. It moves the records the session was about — in
BUSINESS scope its one record, in UNIFIED scope every verified record of the old address in that mode — to the new
address (verified, since the link reached it), unless the new address already has a record at one of those
businesses: then nothing changes and the page says so. After a change:

- the old address is told, with whom to contact if it was not them;
- whoever signed in with the old address is out of the moved records: every other session opened on a moved record
  ends and its unused sign-in and magic links expire; in UNIFIED scope (which only the inbox's reader can open) so
  do every session and link of the old address in that mode. A BUSINESS-scope change touches nothing outside its
  business, since a merchant can hold such a session for its own record: the old address's sessions and links
  elsewhere stay, and no longer reach the moved record (its email is no longer theirs);
- the session that asked keeps working where it can. A BUSINESS session is keyed by its record, so it carries on
  (showing the new address). A UNIFIED session is keyed by its email, so it moves to the new address — unless that
  address already had other records in this mode: the session would then see (or could add) records its holder
  never proved to own (confirming proves the new inbox agreed, not who asked), so it ends too, and the customer signs
  in again with the new address.

Uses access.profile (who may change the email, and its errors), access.rate_limits, core.email_outbox and
merchants.features.
"""

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from access import rate_limits
from access.login_links import LinkProblem, link_problem
from access.profile import refused_fields
from access.viewer import Viewer
from core.clock import utcnow
from core.customer_fields import FieldError, ProfileError, ProfileErrorCode
from core.email_outbox import branding_context, enqueue_email, seal, sender_name
from core.i18n import supported_locale, translations
from core.inputs import email_problem
from core.tokens import LINK_PREFIX, hash_token, new_token
from merchants.features import PortalFeatures, ProfileField
from models import Business, Customer, EmailChangeToken, LoginToken, PortalSession, normalize_email
from models.enums import Scope

CONFIRM_TEMPLATE = "email_change"
CHANGED_TEMPLATE = "email_changed"
LINK_SECONDS = 24 * 3600
LINK_PATH = "/email-change/"
_FIELD = "newEmail"


@dataclass(frozen=True)
class EmailChangeState:
    """What a link would do (peek) or did (confirm); `business` and `livemode` let its page wear the brand.
    `conflicts` names the businesses where the new address already has a record, when that stopped the change."""

    problem: LinkProblem | None
    new_email: str = ""
    business: Business | None = None
    livemode: bool = False
    locale: str = ""
    conflicts: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return self.problem is None and not self.conflicts


async def request_email_change(
    viewer: Viewer,
    new_email: str,
    *,
    features: Mapping[str, PortalFeatures],
    locale: str,
    base_url: str,
    portal_name: str,
    secret_key: str,
    now: datetime | None = None,
) -> None:
    """Email a confirmation link to `new_email`; raises ProfileError, sending nothing, when the address is
    malformed or already the viewer's, a business in scope does not allow it, or the account asked too often.
    `features` is by business id; `locale` is the reader's, for the errors."""
    now = now or utcnow()
    t = translations(locale)
    new_email = new_email.strip()
    if problem := email_problem(new_email, locale):
        raise ProfileError([FieldError(ProfileErrorCode.INVALID_INPUT, _FIELD, problem)])
    customer = viewer.customer() if viewer.scope == Scope.BUSINESS else None
    old_email = customer.email if customer else viewer.email
    if normalize_email(new_email) == old_email:
        message = t.gettext("This is already your email address.")
        raise ProfileError([FieldError(ProfileErrorCode.INVALID_INPUT, _FIELD, message)])
    refusals = [
        error
        for record in viewer.customers
        for error in refused_fields(record, {ProfileField.EMAIL}, features[record.business_id], locale)
    ]
    if refusals:
        raise ProfileError(refusals)
    account = f"{viewer.livemode}:{customer.id if customer else old_email}"
    if not await rate_limits.hit(rate_limits.EMAIL_CHANGE_PER_ACCOUNT, account, now):
        message = t.gettext("You have asked for too many email changes. Try again in an hour.")
        raise ProfileError([FieldError(ProfileErrorCode.RATE_LIMITED, _FIELD, message)])
    new_email = normalize_email(new_email)
    await _send_link(viewer, customer, old_email, new_email, locale, base_url, portal_name, secret_key, now)


async def _send_link(
    viewer: Viewer,
    customer: Customer | None,
    old_email: str,
    new_email: str,
    locale: str,
    base_url: str,
    portal_name: str,
    secret_key: str,
    now: datetime,
) -> None:
    # The customer's language: the one they prefer (profile), else the session's, else the request's.
    preferred = next((record.locale for record in viewer.customers if supported_locale(record.locale)), "")
    email_locale = preferred or supported_locale(viewer.session.locale) or locale
    business = customer.business if customer else None
    token, token_hash = new_token(LINK_PREFIX)
    account = {"customer_id": customer.id} if customer else {"customer_id__isnull": True}
    async with in_transaction():
        # A newer request replaces an older one: only the latest address asked for can take over the account.
        await EmailChangeToken.filter(
            scope=viewer.scope,
            livemode=viewer.livemode,
            old_email=old_email,
            used_at__isnull=True,
            expires_at__gt=now,
            **account,
        ).update(expires_at=now)
        await EmailChangeToken.create(
            token_hash=token_hash,
            scope=viewer.scope,
            livemode=viewer.livemode,
            old_email=old_email,
            new_email=new_email,
            session=viewer.session,
            customer=customer,
            locale=email_locale,
            expires_at=now + timedelta(seconds=LINK_SECONDS),
        )
        await enqueue_email(
            to_email=new_email,
            template=CONFIRM_TEMPLATE,
            context={
                **branding_context(business, portal_name, viewer.livemode),
                "new_email": new_email,
                "expires_minutes": LINK_SECONDS // 60,
            },
            sealed_context=seal({"link": f"{base_url.rstrip('/')}{LINK_PATH}{token}"}, secret_key),
            locale=email_locale,
            business=business,
            livemode=viewer.livemode,
            from_name=sender_name(business, portal_name),
            reply_to=business.support_email if business else "",
            now=now,
        )


async def peek_email_change(token: str, now: datetime | None = None) -> EmailChangeState:
    """What confirming the link would do; never consumes it."""
    row = await _find(token)
    return _state(row, now or utcnow()) if row else EmailChangeState(problem=LinkProblem.UNKNOWN)


async def confirm_email_change(
    token: str, *, client_ip: str, portal_name: str, now: datetime | None = None
) -> EmailChangeState:
    """Burn the link and move the records to the new address, unless it already has a record at one of their
    businesses; every attempt counts against the client address's rate limit for links."""
    now = now or utcnow()
    if not await rate_limits.hit(rate_limits.LINK_ATTEMPTS_PER_ADDRESS, client_ip, now):
        return EmailChangeState(problem=LinkProblem.RATE_LIMITED)
    async with in_transaction():
        row = await _find(token)
        if row is None:
            return EmailChangeState(problem=LinkProblem.UNKNOWN)
        state = _state(row, now)
        if not state.valid:
            return state
        records = await _records_to_move(row)
        if not records:
            # Another change moved them first.
            return dataclasses.replace(state, problem=LinkProblem.USED)
        taken = await Customer.filter(
            email=row.new_email, livemode=row.livemode, business_id__in=[record.business_id for record in records]
        ).select_related("business")
        if taken:
            return dataclasses.replace(state, conflicts=tuple(sorted({record.business.name for record in taken})))
        burned = await EmailChangeToken.filter(id=row.id, used_at__isnull=True, expires_at__gt=now).update(used_at=now)
        if not burned:
            return dataclasses.replace(state, problem=LinkProblem.USED)
        moved = [record.id for record in records]
        await Customer.filter(id__in=moved).update(email=row.new_email, email_verified=True)
        await _end_old_access(row, moved, now)
        await _keep_requesting_session(row, moved, now)
        await _tell_old_address(row, records, portal_name, now)
    return state


async def _find(token: str) -> EmailChangeToken | None:
    if not token.startswith(LINK_PREFIX):
        return None
    return await EmailChangeToken.get_or_none(token_hash=hash_token(token)).select_related("customer__business")


def _state(row: EmailChangeToken, now: datetime) -> EmailChangeState:
    return EmailChangeState(
        problem=link_problem(row, now),
        new_email=row.new_email,
        business=row.customer.business if row.customer else None,
        livemode=row.livemode,
        locale=row.locale,
    )


async def _records_to_move(row: EmailChangeToken) -> list[Customer]:
    """The records the asking session was about, as long as they still have the old address."""
    query = Customer.filter(email=row.old_email, livemode=row.livemode)
    query = query.filter(id=row.customer_id) if row.scope == Scope.BUSINESS else query.filter(email_verified=True)
    return await query.select_related("business").order_by("created_at", "id")


async def _end_old_access(row: EmailChangeToken, moved: list[str], now: datetime) -> None:
    """End every other session of a moved record, and in UNIFIED scope of the old address, and expire their unused
    links."""
    # A BUSINESS session may be its merchant's (a minted token, a magic link it opened), so what it changes stays
    # inside its business: the old address's access elsewhere never showed this record and no longer can.
    old_access = Q(customer_id__in=moved)
    if row.scope == Scope.UNIFIED:
        old_access |= Q(email=row.old_email)
    sessions = PortalSession.filter(old_access, livemode=row.livemode, revoked_at__isnull=True)
    if row.session_id:
        sessions = sessions.exclude(id=row.session_id)
    await sessions.update(revoked_at=now)
    await LoginToken.filter(old_access, livemode=row.livemode, used_at__isnull=True, expires_at__gt=now).update(
        expires_at=now
    )


async def _keep_requesting_session(row: EmailChangeToken, moved: list[str], now: datetime) -> None:
    """The asking session follows the records to the new address, unless (UNIFIED) that would widen what it sees or
    could add (access.business_additions: any record of the new address, proven or not)."""
    if row.session_id is None:
        return
    asking = PortalSession.filter(id=row.session_id, revoked_at__isnull=True)
    if row.scope == Scope.UNIFIED:
        others = Customer.filter(email=row.new_email, livemode=row.livemode).exclude(id__in=moved)
        if await others.exists():
            await asking.update(revoked_at=now)
            return
    await asking.update(email=row.new_email)


async def _tell_old_address(row: EmailChangeToken, records: list[Customer], portal_name: str, now: datetime) -> None:
    business = records[0].business if row.scope == Scope.BUSINESS else None
    businesses = sorted({record.business_id: record.business for record in records}.values(), key=lambda b: b.name)
    await enqueue_email(
        to_email=row.old_email,
        template=CHANGED_TEMPLATE,
        context={
            **branding_context(business, portal_name, row.livemode),
            "old_email": row.old_email,
            "new_email": row.new_email,
            "businesses": [{"name": each.name, "support_email": each.support_email} for each in businesses],
        },
        locale=row.locale,
        business=business,
        livemode=row.livemode,
        from_name=sender_name(business, portal_name),
        reply_to=business.support_email if business else "",
        now=now,
    )
