"""The sign-in pages: `/login/{business_id}` (one business's branded portal), `/login` (the unified portal), and
their test-mode twins under `/test`. On a business's custom domain `/login` (and `/test/login`) is that business's
page and `/login/{business_id}` is not found. The customer types an email and always gets the same "check your
email" answer, whether or not the email is known.

The sign-in request itself runs after the answer has been sent (a background task), so not even the response time
tells a known email from an unknown one.
"""

import functools

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from access.login_links import request_sign_in
from access.rate_limits import SIGN_IN_PER_EMAIL
from core.inputs import email_problem
from gateway.http.csrf import csrf_form_valid
from gateway.http.hosts import custom_business
from gateway.pages.common import (
    business_brand,
    client_address,
    not_found_page,
    page_locale,
    portal_brand,
    refused_form_page,
    render_page,
)
from gateway.settings import Settings
from merchants.custom_domains import sign_in_path
from models import Business
from models.ids import find_by_client_id

# `/login?signed_out=1` is where signing out lands: the page says so.
SIGNED_OUT_PARAMETER = "signed_out"


def login_path(business_id: str | None, livemode: bool) -> str:
    """Where a customer signs in on the platform's host: the business's page or the unified one, in live or test
    mode."""
    return sign_in_path(business_id, livemode)


def login_path_on_host(request: Request, business_id: str | None, livemode: bool) -> str:
    """Where a customer of `business_id` signs in on the host of this request: `/login` on a custom domain."""
    return login_path(None if custom_business(request) else business_id, livemode)


async def sign_in_page(request: Request, *, settings: Settings, livemode: bool) -> Response:
    business_id = request.path_params.get("business_id")
    custom = custom_business(request)
    if business_id is None:
        business = custom
    else:
        # A custom domain is one business's portal: no other business's page is served there.
        business = await find_by_client_id(Business, business_id) if custom is None else None
        if business is None:
            return not_found_page(request, settings)
    locale = page_locale(request)
    brand = business_brand(business) if business else portal_brand(settings)
    page = functools.partial(render_page, request, settings, locale=locale, brand=brand, livemode=livemode)
    action = login_path(business_id, livemode)
    sign_in = functools.partial(page, "login.html", action=action, unified=business is None)
    if request.method == "GET":
        return sign_in(email_error="", email="", signed_out=request.query_params.get(SIGNED_OUT_PARAMETER) == "1")

    form = await request.form()
    if not csrf_form_valid(request, form, settings):
        return refused_form_page(request, settings, brand, livemode)
    submitted = form.get("email")
    email = submitted.strip() if isinstance(submitted, str) else ""
    if problem := email_problem(email, locale):
        return sign_in(status=422, email_error=problem, email=email, signed_out=False)
    response = page(
        "check_email.html", back_url=action, email=email, limit_minutes=SIGN_IN_PER_EMAIL.window_seconds // 60
    )
    response.background = BackgroundTask(
        request_sign_in,
        email=email,
        business=business,
        livemode=livemode,
        locale=locale,
        client_ip=client_address(request),
        base_url=settings.base_url,
        link_seconds=settings.sign_in_link_seconds,
        portal_name=settings.portal_name,
        secret_key=settings.secret_key,
    )
    return response


def routes(settings: Settings) -> list[BaseRoute]:
    live = functools.partial(sign_in_page, settings=settings, livemode=True)
    test = functools.partial(sign_in_page, settings=settings, livemode=False)
    return [
        Route("/login", live, methods=["GET", "POST"]),
        Route("/login/{business_id}", live, methods=["GET", "POST"]),
        Route("/test/login", test, methods=["GET", "POST"]),
        Route("/test/login/{business_id}", test, methods=["GET", "POST"]),
    ]
