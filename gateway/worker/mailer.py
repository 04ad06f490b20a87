"""Turning an outbox EmailMessage into a real email and handing it to the SMTP server — or, when none is configured,
to the log, so the demo works without one.

The email is rendered when it is sent, from the row's template, context (its sealed values opened) and language:
`email/<template>.subject.txt`, `.txt` and `.html`, as one multipart/alternative message branded with the business's
name, logo and colour, From "{Business} via {Portal}" <MAIL_FROM>, Reply-To the business's support email. The From
address is MAIL_FROM whatever the business is called: email.headerregistry quotes or encodes the name (`_as_typed`
first keeps an RFC 2047 look-alike plain text, as in the subject), and a name that would not come back unchanged
from the header as written gives way to the portal's name.
"""

import logging
import socket
from email import message_from_string, policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime

import aiosmtplib

from core.email_outbox import opened_context
from core.i18n import DEFAULT_LOCALE, supported_locale
from gateway.brand_colors import brand_palette
from gateway.settings import Settings
from gateway.templating import render
from models import EmailMessage

logger = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 30


def _email_logo(logo_url: str | None) -> str:
    # Mail clients block data: and plain-http images; a missing logo leaves the business's name alone in the header.
    return logo_url if logo_url and logo_url.startswith("https://") else ""


def _as_typed(text: str) -> str:
    """Header text (a subject, a display name) that reads as written. The email package decodes an RFC 2047 word
    (`=?utf-8?q?…?=`) in any header value it is given and writes the result out raw: a business named
    `=?utf-8?q?=0D=0ABcc=3A_x=40y?=` would add a Bcc header, one named `=?utf-8?q?=3Cx=40y=3E?=` would move the
    From address. A word joiner (U+2060, invisible) after the `=` keeps such a word plain text."""
    return text.replace("=?", "=\u2060?")


def _reads_back(address: Address) -> bool:
    """Whether the From header written for `address` parses back to exactly it."""
    written = policy.SMTP.header_factory("From", address).fold(policy=policy.SMTP)
    return message_from_string(written, policy=policy.default)["From"].addresses == (address,)


def _sender(display_name: str, settings: Settings) -> Address:
    """From: the row's display name if it survives the header intact, else the portal's name, always MAIL_FROM."""
    for name in (display_name, settings.portal_name):
        try:
            address = Address(display_name=_as_typed(name), addr_spec=settings.mail_from)
            if _reads_back(address):
                return address
        except (ValueError, HeaderParseError):  # a line break, from a name stored before names were checked
            continue
    return Address(addr_spec=settings.mail_from)


def _reply_to(support_email: str) -> Address | None:
    # One plain address or none: a support email stored before addresses were checked must neither add recipients
    # nor stop the email.
    try:
        return Address(addr_spec=support_email) if support_email else None
    except (ValueError, HeaderParseError):
        return None


def compose_email(message: EmailMessage, settings: Settings) -> MimeMessage:
    """The message, in the recipient's language, ready for SMTP."""
    locale = supported_locale(message.locale) or DEFAULT_LOCALE
    stored = opened_context(message, settings.secret_key)
    context = {
        **stored,
        "palette": brand_palette(stored.get("primary_color"), stored.get("accent_color")),
        "logo_url": _email_logo(stored.get("logo_url")),
    }
    subject = _as_typed(" ".join(render(f"email/{message.template}.subject.txt", locale, **context).split()))
    mime = MimeMessage()
    mime["Subject"] = subject
    mime["From"] = _sender(message.from_name or settings.portal_name, settings)
    mime["To"] = message.to_email
    if reply_to := _reply_to(message.reply_to):
        mime["Reply-To"] = reply_to
    mime["Date"] = format_datetime(message.created_at)
    # The row's id and nothing random (make_msgid adds the time and a random number), so a send repeated after a
    # worker died carries the same Message-ID and receivers can drop the duplicate.
    mime["Message-ID"] = f"<{message.id}@{settings.mail_from.rpartition('@')[2] or socket.getfqdn()}>"
    mime["Auto-Submitted"] = "auto-generated"
    mime.set_content(render(f"email/{message.template}.txt", locale, **context))
    mime.add_alternative(render(f"email/{message.template}.html", locale, subject=subject, **context), subtype="html")
    # After add_alternative, which moves every Content-* header of the message into its first part.
    mime["Content-Language"] = locale
    return mime


async def send_email(message: EmailMessage, settings: Settings) -> None:
    """Deliver one outbox message; raises on any failure, so the worker can retry."""
    mime = compose_email(message, settings)
    if not settings.smtp_host:
        _write_to_log(mime, message, opened_context(message, settings.secret_key).get("link", "(none)"))
        return
    await aiosmtplib.send(
        mime,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username or None,
        password=settings.smtp_password or None,
        use_tls=settings.smtp_tls == "tls",
        start_tls=settings.smtp_tls == "starttls",
        timeout=SMTP_TIMEOUT_SECONDS,
    )


def _write_to_log(mime: MimeMessage, message: EmailMessage, link: str) -> None:
    # The one deliberate place a sign-in link reaches the log: without SMTP the log is the demo's mailbox. A
    # warning, so it shows with no logging set up, and so a production log says plainly that nothing was sent.
    text = mime.get_body(preferencelist=("plain",))
    logger.warning(
        "No SMTP server configured (SMTP_HOST is empty), so email %s is written here instead.\n"
        "To: %s\nSubject: %s\nLink: %s\n\n%s",
        message.id,
        mime["To"],
        mime["Subject"],
        link,
        text.get_content() if text else "",
    )
