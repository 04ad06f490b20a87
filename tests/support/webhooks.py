"""A merchant's webhook receiver for tests: a real HTTP server on 127.0.0.1 that keeps every request it gets, for
checking with `standardwebhooks`. tests/conftest.py loads it as a plugin, for its fixture `receiver` (one started)."""

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest
from standardwebhooks import Webhook

from tests.support.portal import free_port


@dataclasses.dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def verified_with(self, secret: str) -> dict:
        return Webhook(secret).verify(self.body, self.headers)


class Receiver:
    """A minimal HTTP/1.1 server that keeps each request and answers `status`, once `hold` (if any) is set."""

    def __init__(self) -> None:
        self.port = free_port()
        self.status = 200
        self.body = b"ok"
        self.location = ""
        self.hold: asyncio.Event | None = None
        self.requests: list[Received] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")[1:]
        headers = {
            name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines if line)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append(Received(headers, body))
        if self.hold is not None:
            await self.hold.wait()
        location = f"Location: {self.location}\r\n" if self.location else ""
        head = f"HTTP/1.1 {self.status} X\r\n{location}Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + self.body)
        await writer.drain()
        writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    if server._server.is_serving():
        await server.stop()
