"""The pinned transport as the network sees it: a stub resolver answers, and a stub transport records where each
connection would go and what it would say (Host, TLS server name), answering as a server would."""

import httpx
import pytest

from gateway.worker.webhook_transport import PinnedTransport
from merchants.webhooks import WebhookEndpointError


class Network:
    """Answers `answers` to each lookup of a host, in turn (the last one again once they run out), and a connection
    to an address in `refusing` with a refused connection."""

    def __init__(self, *answers: list[str], refusing: tuple[str, ...] = ()) -> None:
        self.answers, self.refusing = list(answers), refusing
        self.lookups: list[tuple[str, int]] = []
        self.requests: list[httpx.Request] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append((host, port))
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host in self.refusing:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, text="received")

    def client(self, *, allow_private: bool = False) -> httpx.AsyncClient:
        transport = PinnedTransport(
            allow_private=allow_private, resolve=self.resolve, connect=httpx.MockTransport(self.handle)
        )
        return httpx.AsyncClient(transport=transport, trust_env=False)


async def test_a_rebinding_name_is_connected_to_at_the_address_checked_with_its_own_host_and_tls_name() -> None:
    network = Network(["2606:4700::1"], ["127.0.0.1"])
    async with network.client() as client:
        answer = await client.post("https://hooks.example:8443/in?x=1", content=b"{}")

    assert (answer.status_code, answer.text) == (200, "received")
    assert network.lookups == [("hooks.example", 8443)]
    [sent] = network.requests
    assert str(sent.url) == "https://[2606:4700::1]:8443/in?x=1"
    assert sent.headers["host"] == "hooks.example:8443"
    assert sent.extensions["sni_hostname"] == "hooks.example"
    assert sent.content == b"{}"


async def test_each_request_is_checked_again_and_a_private_answer_is_refused_unsent() -> None:
    network = Network(["93.184.216.34"], ["93.184.216.34", "10.0.0.7"])
    async with network.client() as client:
        await client.post("https://hooks.example/in")
        with pytest.raises(WebhookEndpointError, match=r"non-public address \(10\.0\.0\.7\)"):
            await client.post("https://hooks.example/in")
    assert [str(request.url) for request in network.requests] == ["https://93.184.216.34/in"]


async def test_a_refused_connection_moves_on_to_the_next_checked_address() -> None:
    network = Network(["2606:4700::1", "93.184.216.34"], refusing=("2606:4700::1",))
    async with network.client() as client:
        answer = await client.post("https://hooks.example/in")
    assert answer.status_code == 200
    assert [request.url.host for request in network.requests] == ["2606:4700::1", "93.184.216.34"]
    assert len(network.lookups) == 1


async def test_a_private_address_allowed_for_development_answers_its_status_alone() -> None:
    network = Network(["127.0.0.1"])
    async with network.client(allow_private=True) as client:
        answer = await client.post("http://hooks.test/in")
    assert (answer.status_code, answer.text, answer.headers.get("content-type")) == (200, "", None)
    assert network.requests[0].url.host == "127.0.0.1"
