"""The only way a webhook request reaches the network: an httpx transport that looks the URL's host up once, checks
every address it answers (merchants.webhooks.checked_addresses) and connects to those checked addresses only, with
the Host header and the TLS server name (SNI and the certificate check) still the URL's host.

Checking a name and then letting the HTTP stack look it up again to connect is open to DNS rebinding: a name that
answers a public address to the check and 127.0.0.1 (or 10.x, or 169.254.169.254) to the connect. Here the request
handed on names the checked IP itself, so nothing is looked up twice. Every request through the transport is checked
this way, redirects included, though the delivery follows none.

An answer from a non-public address (reachable only under PORTAL_WEBHOOKS_ALLOW_PRIVATE) comes back as its status
alone, so nothing a server inside the network says is stored or shown to a merchant.
"""

import contextlib

import httpx

from merchants.webhooks import Resolver, checked_addresses, is_public, system_resolver

DEFAULT_PORTS = {"http": 80, "https": 443}


class PinnedTransport(httpx.AsyncBaseTransport):
    """Sends each request to an address its host was checked to have; `resolve` and `connect` (the transport that
    opens connections) are there for tests to replace."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolve: Resolver = system_resolver,
        connect: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolve = resolve
        # No keep-alive: the pool knows a connection by IP and port only, so a request for another host at the same
        # address could ride a TLS session whose certificate was checked for this one.
        self._connect = connect or httpx.AsyncHTTPTransport(
            trust_env=False, limits=httpx.Limits(max_keepalive_connections=0)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.raw_host.decode("ascii")
        port = request.url.port or DEFAULT_PORTS[request.url.scheme]
        addresses = await checked_addresses(host, port, allow_private=self._allow_private, resolve=self._resolve)
        # The next checked address when one refuses the connection, as connecting to the name would.
        for address in addresses[:-1]:
            with contextlib.suppress(httpx.ConnectError):
                return await self._send(request, host, address)
        return await self._send(request, host, addresses[-1])

    async def _send(self, request: httpx.Request, host: str, address: str) -> httpx.Response:
        pinned = httpx.Request(
            request.method,
            request.url.copy_with(host=address),
            headers=request.headers,  # the Host header among them, still the URL's host
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": host},
        )
        response = await self._connect.handle_async_request(pinned)
        if is_public(address):
            return response
        await response.aclose()
        return httpx.Response(response.status_code)

    async def aclose(self) -> None:
        await self._connect.aclose()
