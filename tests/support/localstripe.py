"""localstripe, a stateful Stripe emulator, for the Stripe processor's tests: started once per run as a separate
process on a free port (it is GPL: run, never imported) and emptied after each test that uses it.

`stripe_server` is the emulator's address for one test; `stripe_api` is an SDK client on it, for what a test does
in Stripe's place (making a card the way Stripe.js would, authenticating a payment, reading what was charged).
"""

import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import stripe

# Any `sk_test_…` key opens localstripe; the same goes for the other keys a business connects.
SECRET_KEY = "sk_test_localstripe0000"
PUBLISHABLE_KEY = "pk_test_localstripe0000"
WEBHOOK_SECRET = "whsec_localstripe0000"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(base_url: str, process: subprocess.Popen) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited with {process.returncode}")
        try:
            httpx.get(f"{base_url}/v1/customers", auth=(SECRET_KEY, ""), timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("localstripe did not start")


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """The emulator's base URL, for the whole run."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url, process)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
async def stripe_server(localstripe: str) -> AsyncIterator[str]:
    """The emulator for one test, emptied afterwards."""
    yield localstripe
    async with httpx.AsyncClient() as http:
        (await http.delete(f"{localstripe}/_config/data")).raise_for_status()


@pytest.fixture
def stripe_api(stripe_server: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        SECRET_KEY, base_addresses={"api": stripe_server}, http_client=stripe.HTTPXClient(), max_network_retries=0
    )
