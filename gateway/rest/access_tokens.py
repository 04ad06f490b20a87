"""Bearer tokens for GraphQL clients over REST.

- The merchant mints one for a customer with its API key: `POST /customers/{customer_id}/access-tokens` (optional
  body `{"expires_in_seconds": …}`) → 200 `{access_token, expires_at, scope, customer_id, token_id}`, and revokes
  it with `DELETE /customers/{customer_id}/access-tokens/{token_id}` → 204 (access.access_tokens). A customer or
  token outside the key's business and mode answers 404, exactly like a missing one.
- A native app or script signs a customer in by email code: `POST /auth/email-code {email, business_id?}` always
  answers 202 with the same body (the work runs after the answer is sent, so not even its timing tells a known
  email from an unknown one); `POST /auth/token {email, business_id?, code}` → 200 `{access_token, expires_at,
  scope, customer_id}`, 400 with one generic answer for any code that opens nothing, 429 with Retry-After past the
  client address's limit or while the email's code sign-in is paused, known email or not (access.email_codes).
  Test mode: the same paths under `/test`.
- A client signs itself out with `POST /auth/logout` (or `/test/auth/logout`) and its token in
  `Authorization: Bearer …` → 204, whatever the token (live, unknown or already ended: signing out twice is
  harmless); 401 without a Bearer token. A cookie is never read there, so no other site can end a browser's session
  through it and no CSRF token is needed.

A token is only ever in a response body (with `Cache-Control: no-store`), never in a cookie or a log line.
"""

import functools
from dataclasses import replace

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from access.access_tokens import (
    MintedToken,
    mint_access_token,
    revoke_access_token,
)
from access.email_codes import CODE_SECONDS, EmailCodeRefused, exchange_email_code, request_email_code
from access.sessions import end_session
from core.inputs import email_problem
from gateway.http.json_body import BadBody, Body, StringField, string_fields
from gateway.http.request_auth import bearer_token, session_policy
from gateway.pages.common import client_address, page_locale
from gateway.rest.common import MerchantCall, merchant_endpoint
from gateway.rest.errors import RestErrorCode, bad_body, error_response
from gateway.settings import Settings
from models import Customer, PortalSession

_NO_STORE = {"Cache-Control": "no-store"}
CODE_REQUESTED = {
    "message": "If this email belongs to a customer, a 6-digit sign-in code is on its way. "
    f"It works once and expires in {CODE_SECONDS // 60} minutes."
}
NO_BEARER_TOKEN = "Send the token to end as Authorization: Bearer cps_…"
CODE_REFUSED = "This code does not sign anyone in: it is wrong, used or expired. Ask for a new one if needed."
_EMAIL = StringField("email")
_BUSINESS_ID = StringField("business_id", required=False)


def _token_json(session: PortalSession, access_token: str) -> dict:
    return {
        "access_token": access_token,
        "expires_at": session.expires_at.isoformat(),
        "scope": str(session.scope),
        "customer_id": session.customer_id,
    }


def _minted_json(minted: MintedToken) -> dict:
    return {**_token_json(minted.session, minted.access_token), "token_id": minted.session.id}


async def _body_of(request: Request, fields: tuple[StringField, ...]) -> Body:
    """The call's string fields with a well-formed email; anything else is a BadBody."""
    body = await string_fields(request, fields)
    if problem := email_problem(body["email"].strip(), "en"):
        raise BadBody(problem, "email")
    return body


async def _optional_json(call: MerchantCall) -> dict:
    """The JSON object body, or nothing at all (every field is optional)."""
    return await call.json_body({"expires_in_seconds"}) if (await call.request.body()).strip() else {}


def merchant_routes(settings: Settings) -> list[BaseRoute]:
    @merchant_endpoint
    async def create_access_token(call: MerchantCall) -> Response:
        customer = await call.scoped(Customer, call.request.path_params["customer_id"], "customer")
        body = await _optional_json(call)
        minted = await mint_access_token(
            api_key=call.api_key,
            customer_id=customer.id,
            expires_in_seconds=body.get("expires_in_seconds"),
            default_seconds=settings.access_token_seconds,
        )
        return JSONResponse(_minted_json(minted), headers=_NO_STORE)

    @merchant_endpoint
    async def delete_access_token(call: MerchantCall) -> Response:
        customer = await call.scoped(Customer, call.request.path_params["customer_id"], "customer")
        await revoke_access_token(
            api_key=call.api_key, token_id=call.request.path_params["token_id"], customer_id=customer.id
        )
        return Response(status_code=204)

    return [
        Route("/customers/{customer_id}/access-tokens", create_access_token, methods=["POST"]),
        Route("/customers/{customer_id}/access-tokens/{token_id}", delete_access_token, methods=["DELETE"]),
    ]


async def email_code(request: Request, *, settings: Settings, livemode: bool) -> Response:
    try:
        body = await _body_of(request, (_EMAIL, _BUSINESS_ID))
    except BadBody as bad:
        return bad_body(bad).response()
    response = JSONResponse(CODE_REQUESTED, status_code=202)
    response.background = BackgroundTask(
        request_email_code,
        email=body["email"],
        business_id=body["business_id"],
        livemode=livemode,
        locale=page_locale(request),
        client_ip=client_address(request),
        secret_key=settings.secret_key,
        portal_name=settings.portal_name,
    )
    return response


async def token(request: Request, *, settings: Settings, livemode: bool) -> Response:
    try:
        body = await _body_of(request, (_EMAIL, _BUSINESS_ID, StringField("code")))
    except BadBody as bad:
        return bad_body(bad).response()
    try:
        access_token, session = await exchange_email_code(
            email=body["email"],
            business_id=body["business_id"],
            code=body["code"],
            livemode=livemode,
            client_ip=client_address(request),
            secret_key=settings.secret_key,
            # A token a script or app holds lives as a merchant-minted one does (and idles out as any session).
            policy=replace(session_policy(settings), max_seconds=settings.access_token_seconds),
            portal_name=settings.portal_name,
        )
    except EmailCodeRefused as refusal:
        if refusal.retry_after is None:
            return error_response(RestErrorCode.INVALID_CODE, CODE_REFUSED, "code")
        message = f"Too many sign-in attempts. Try again in {refusal.retry_after} s."
        return error_response(RestErrorCode.RATE_LIMITED, message, retry_after=refusal.retry_after)
    return JSONResponse(_token_json(session, access_token), headers=_NO_STORE)


async def logout(request: Request) -> Response:
    token = bearer_token(request)
    if token is None:
        return error_response(RestErrorCode.UNAUTHENTICATED, NO_BEARER_TOKEN)
    await end_session(token)
    return Response(status_code=204)


def routes(settings: Settings) -> list[BaseRoute]:
    sign_in = [
        Route(f"{prefix}/auth/{name}", functools.partial(view, settings=settings, livemode=livemode), methods=["POST"])
        for prefix, livemode in (("", True), ("/test", False))
        for name, view in (("email-code", email_code), ("token", token))
    ]
    # A token names its own mode, so both paths end any token; the second keeps test clients under /test.
    sign_out = [Route(f"{prefix}/auth/logout", logout, methods=["POST"]) for prefix in ("", "/test")]
    return [*merchant_routes(settings), *sign_in, *sign_out]
