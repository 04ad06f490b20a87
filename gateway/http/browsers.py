"""Whether a request comes from a person's browser, which gets an HTML page where an API client gets JSON."""

from starlette.requests import Request


def wants_page(request: Request) -> bool:
    """A browser asks for `text/html` when it opens an address; API clients ask for JSON or for anything."""
    return "text/html" in request.headers.get("accept", "")
