"""Every setting of the portal, read from environment variables in this one place, with safe defaults."""

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from access import access_tokens
from access.rate_limits import MerchantEmailLimits


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value in {"1", "true", "yes", "on"}


def _env_access_token_seconds() -> int:
    """PORTAL_ACCESS_TOKEN_SECONDS: how long a merchant-minted token lives unless the merchant asks otherwise."""
    seconds = _env_int("PORTAL_ACCESS_TOKEN_SECONDS", Settings.access_token_seconds)
    if not access_tokens.MIN_SECONDS <= seconds <= access_tokens.MAX_SECONDS:
        bounds = f"{access_tokens.MIN_SECONDS} to {access_tokens.MAX_SECONDS}"
        raise ValueError(f"PORTAL_ACCESS_TOKEN_SECONDS must be from {bounds} seconds, not {seconds}")
    return seconds


def _env_networks(name: str) -> tuple[str, ...]:
    """A comma-separated list of IP addresses and CIDR networks; a typo stops the start rather than trust nobody."""
    entries = [entry.strip() for entry in os.environ.get(name, "").split(",") if entry.strip()]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"{name}: {entry!r} is neither an IP address nor a network such as 10.0.0.0/8") from None
    return tuple(entries)


def _secret_key() -> str:
    """PORTAL_SECRET_KEY, or a key made once and kept beside the SQLite file so restarts keep sessions' CSRF."""
    configured = os.environ.get("PORTAL_SECRET_KEY", "").strip()
    if configured:
        return configured
    path = Path(os.environ.get("PORTAL_SECRET_KEY_FILE", ".portal-secret-key"))
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, "").strip().lower() or default
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _env_keys(name: str) -> tuple[str, ...]:
    """A comma-separated list of keys, newest first."""
    return tuple(key.strip() for key in os.environ.get(name, "").split(",") if key.strip())


PAYMENT_PROCESSORS = ("sandbox", "stripe")


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://portal.db"
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = field(default="", repr=False)
    portal_name: str = "Customer Portal"
    session_idle_seconds: int = 3600
    session_max_seconds: int = 86400
    sign_in_link_seconds: int = 900
    magic_link_seconds: int = 86400
    access_token_seconds: int = 3600
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_tls: str = "starttls"
    mail_from: str = "portal@localhost"
    run_worker_in_web: bool = True
    worker_poll_seconds: float = 1.0
    billing_interval_seconds: float = 60.0
    log_level: str = "INFO"
    # After SIGTERM, how long requests in flight may take to finish before the process stops anyway.
    shutdown_seconds: int = 30
    max_body_bytes: int = 1024 * 1024
    max_form_bytes: int = 16 * 1024
    trusted_proxies: tuple[str, ...] = ()
    webhooks_allow_private: bool = False
    # Emails a merchant may have sent on demand (a portal link's email) in an hour: to one customer, and in all.
    merchant_emails_per_recipient: int = 5
    merchant_emails_per_business: int = 1000
    # Billing PDFs render in a pool of this many processes per web (or worker) process; past this many renders
    # waiting besides, a download is answered 503 with Retry-After.
    pdf_render_processes: int = 1
    pdf_render_queue: int = 4
    # `sandbox`: the built-in sandbox charges test mode (and the businesses' own Stripe accounts where connected);
    # `stripe`: no sandbox at all, every charge goes to the business's own Stripe account.
    payment_processor: str = "sandbox"
    # Live mode never charges the sandbox unless this says so (the demo does).
    sandbox_in_live_mode: bool = False
    stripe_api_base: str = "https://api.stripe.com"
    stripe_js_url: str = "https://js.stripe.com/v3/"
    # What seals the businesses' Stripe keys at rest, newest first; empty: a key derived from `secret_key`.
    credentials_keys: tuple[str, ...] = field(default=(), repr=False)

    @property
    def sealing_keys(self) -> tuple[str, ...]:
        """The keys that seal the businesses' processor credentials, newest first."""
        return self.credentials_keys or (self.secret_key,)

    @property
    def merchant_email_limits(self) -> MerchantEmailLimits:
        return MerchantEmailLimits(self.merchant_emails_per_recipient, self.merchant_emails_per_business)

    @property
    def secure_cookies(self) -> bool:
        """Cookies are `Secure` everywhere but on a plain-HTTP localhost, where browsers would drop them."""
        return urlsplit(self.base_url).hostname not in {"localhost", "127.0.0.1"} or self.base_url.startswith("https:")

    @classmethod
    def from_env(cls) -> "Settings":
        host = os.environ.get("PORTAL_HOST", cls.host)
        port = _env_int("PORTAL_PORT", cls.port)
        return cls(
            database_url=os.environ.get("DATABASE_URL", cls.database_url),
            host=host,
            port=port,
            base_url=os.environ.get("PORTAL_BASE_URL", f"http://{host}:{port}").rstrip("/"),
            secret_key=_secret_key(),
            portal_name=os.environ.get("PORTAL_NAME", cls.portal_name),
            session_idle_seconds=_env_int("PORTAL_SESSION_IDLE_SECONDS", cls.session_idle_seconds),
            session_max_seconds=_env_int("PORTAL_SESSION_MAX_SECONDS", cls.session_max_seconds),
            sign_in_link_seconds=_env_int("PORTAL_SIGN_IN_LINK_SECONDS", cls.sign_in_link_seconds),
            magic_link_seconds=_env_int("PORTAL_MAGIC_LINK_SECONDS", cls.magic_link_seconds),
            access_token_seconds=_env_access_token_seconds(),
            smtp_host=os.environ.get("SMTP_HOST", ""),
            smtp_port=_env_int("SMTP_PORT", cls.smtp_port),
            smtp_username=os.environ.get("SMTP_USERNAME", ""),
            smtp_password=os.environ.get("SMTP_PASSWORD", ""),
            smtp_tls=os.environ.get("SMTP_TLS", cls.smtp_tls).lower(),
            mail_from=os.environ.get("MAIL_FROM", cls.mail_from),
            run_worker_in_web=_env_bool("PORTAL_WORKER_IN_WEB", cls.run_worker_in_web),
            worker_poll_seconds=float(os.environ.get("PORTAL_WORKER_POLL_SECONDS", cls.worker_poll_seconds)),
            billing_interval_seconds=float(
                os.environ.get("PORTAL_BILLING_INTERVAL_SECONDS", cls.billing_interval_seconds)
            ),
            log_level=os.environ.get("PORTAL_LOG_LEVEL", cls.log_level).upper(),
            shutdown_seconds=max(1, _env_int("PORTAL_SHUTDOWN_SECONDS", cls.shutdown_seconds)),
            pdf_render_processes=max(1, _env_int("PORTAL_PDF_RENDER_PROCESSES", cls.pdf_render_processes)),
            pdf_render_queue=max(0, _env_int("PORTAL_PDF_RENDER_QUEUE", cls.pdf_render_queue)),
            max_body_bytes=_env_int("PORTAL_MAX_BODY_BYTES", cls.max_body_bytes),
            max_form_bytes=_env_int("PORTAL_MAX_FORM_BYTES", cls.max_form_bytes),
            trusted_proxies=_env_networks("PORTAL_TRUSTED_PROXIES"),
            webhooks_allow_private=_env_bool("PORTAL_WEBHOOKS_ALLOW_PRIVATE", cls.webhooks_allow_private),
            merchant_emails_per_recipient=_env_int(
                "PORTAL_MERCHANT_EMAILS_PER_RECIPIENT", cls.merchant_emails_per_recipient
            ),
            merchant_emails_per_business=_env_int(
                "PORTAL_MERCHANT_EMAILS_PER_BUSINESS", cls.merchant_emails_per_business
            ),
            payment_processor=_env_choice("PORTAL_PAYMENT_PROCESSOR", cls.payment_processor, PAYMENT_PROCESSORS),
            sandbox_in_live_mode=_env_bool("PORTAL_SANDBOX_IN_LIVE_MODE", cls.sandbox_in_live_mode),
            stripe_api_base=os.environ.get("PORTAL_STRIPE_API_BASE", cls.stripe_api_base).strip().rstrip("/"),
            stripe_js_url=os.environ.get("PORTAL_STRIPE_JS_URL", cls.stripe_js_url).strip(),
            credentials_keys=_env_keys("PORTAL_CREDENTIALS_KEYS"),
        )
