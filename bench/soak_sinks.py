"""The soak test's stand-ins for the outside world, on 127.0.0.1: an SMTP server that can go away and come back on
the same port, and a merchant's webhook receiver that fails until it recovers. Each keeps what it received, for
the checks of bench/soak_checks.py."""

import asyncio
import re
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from standardwebhooks import Webhook, WebhookVerificationError

# The mailer writes `<email row id@domain>` (gateway/worker/mailer.py).
_ROW_ID = re.compile(r"^<([^@>]+)@")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class SmtpSink:
    """aiosmtpd on its own thread, keeping each accepted message's Message-ID; `stop` and `start` again keep the
    port, as a mail relay that restarts would."""

    def __init__(self) -> None:
        self.port = free_port()
        self.message_ids: list[str] = []
        self._controller: Controller | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 -- aiosmtpd's hook
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        self.message_ids.append(str(message_from_bytes(content, policy=policy.default)["Message-ID"]))
        return "250 Message accepted"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received_rows(self) -> Counter[str]:
        """How often each email row arrived, by the row id its Message-ID carries."""
        return Counter(match[1] for message_id in self.message_ids if (match := _ROW_ID.search(message_id)))


@dataclass(frozen=True)
class Hook:
    webhook_id: str
    status: int
    verified: bool


@dataclass
class WebhookSink:
    """A minimal HTTP/1.1 receiver answering 500 until `healthy_at` (time.monotonic()), then 200. Each business
    posts to a path of its own, and each request is verified on arrival with that business's endpoint secret (as a
    receiver does: Standard Webhooks refuses a timestamp more than 5 minutes old)."""

    port: int = field(default_factory=free_port)
    healthy_at: float = float("inf")
    secrets: dict[str, str] = field(default_factory=dict)  # business id -> endpoint secret
    hooks: list[Hook] = field(default_factory=list)
    _server: asyncio.Server | None = None

    def url_for(self, business: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{business}"

    def delivered_ids(self) -> set[str]:
        return {hook.webhook_id for hook in self.hooks if hook.status == 200}

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head.decode().split("\r\n")
            headers = {
                name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            writer.close()
            return
        status = 200 if time.monotonic() >= self.healthy_at else 500
        business = request_line.split(" ")[1].rpartition("/")[2]
        verified = _verifies(body, headers, self.secrets.get(business, ""))
        self.hooks.append(Hook(headers.get("webhook-id", ""), status, verified))
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".encode())
        await writer.drain()
        writer.close()


def _verifies(body: bytes, headers: dict[str, str], secret: str) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True
