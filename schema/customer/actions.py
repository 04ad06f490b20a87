"""What every customer mutation shares: the portal features that apply to a business for this viewer, and expected
failures as UserErrors in the reader's language."""

from typing import Any

import strawberry

from access.viewer import Viewer
from billing.errors import BillingError, BillingErrorCode
from core.errors import DomainError
from core.i18n import DEFAULT_LOCALE, supported_locale, translations
from merchants.features import PortalFeatures
from merchants.portal_configurations import portal_features
from models.enums import Scope
from schema.common import errors
from schema.common.errors import UserError


def translate(info: strawberry.Info, message: str) -> str:
    """A domain's message (an English catalog entry) in the reader's language."""
    locale = supported_locale(info.context.locale) or DEFAULT_LOCALE
    return translations(locale).gettext(message)


def user_errors(info: strawberry.Info, error: DomainError[Any]) -> list[UserError]:
    return errors.user_errors(error, lambda message: translate(info, message))


def user_error(info: strawberry.Info, error: DomainError[Any]) -> UserError:
    return user_errors(info, error)[0]


def not_found(info: strawberry.Info, field: str) -> UserError:
    """The answer to any id outside the viewer's scope, exactly as for one that does not exist."""
    return user_error(info, BillingError(BillingErrorCode.NOT_FOUND, field=field))


async def features_for(viewer: Viewer, business_id: str) -> PortalFeatures:
    """The configuration a merchant's link named applies inside its business; elsewhere the business's default."""
    session = viewer.session
    named = session.configuration_id if session.scope == Scope.BUSINESS and session.business_id == business_id else None
    return await portal_features(business_id, viewer.livemode, named)
