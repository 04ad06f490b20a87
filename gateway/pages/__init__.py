"""The hosted portal's HTML pages: sign in (`login`), the link a customer follows (`session_link`), the portal
itself (`home`), adding a business to the unified portal (`business_additions`), a subscription's page
(`subscriptions`) and the changes made from it (`subscription_changes`: cancel, resume, change plan, pause), saved
cards (`payment_methods`), a license key's devices (`license_keys`), invoice and credit-note PDFs (`documents`), the
profile and "Download my data" (`profile`), the hosted checkout a payment link opens (`checkout`), the link that
confirms a new email address (`email_change`), the confirmation a deep link's task ends on (`flows`), and the
stylesheet under `/static`. Shared page machinery is in `common`, and what the billing pages share in `signed_in`."""

from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from gateway.pages import (
    billing_history,
    business_additions,
    checkout,
    documents,
    email_change,
    flows,
    home,
    license_keys,
    login,
    payment_methods,
    profile,
    purchases,
    session_link,
    subscription_changes,
    subscriptions,
)
from gateway.settings import Settings

STATIC_DIR = Path(__file__).parent.parent / "static"


def routes(settings: Settings) -> list[BaseRoute]:
    return [
        *login.routes(settings),
        *session_link.routes(settings),
        *flows.routes(settings),
        *email_change.routes(settings),
        *home.routes(settings),
        *business_additions.routes(settings),
        *subscriptions.routes(settings),
        *subscription_changes.routes(settings),
        *payment_methods.routes(settings),
        *profile.routes(settings),
        *billing_history.routes(settings),
        *documents.routes(settings),
        *purchases.routes(settings),
        *license_keys.routes(settings),
        *checkout.routes(settings),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
