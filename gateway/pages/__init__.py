"""The hosted portal's HTML pages: sign in (`login`), the link a customer follows (`session_link`), the portal
itself (`home`), and the stylesheet under `/static`. Shared page machinery is in `common`."""

from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from gateway.pages import home, login, session_link
from gateway.settings import Settings

STATIC_DIR = Path(__file__).parent.parent / "static"


def routes(settings: Settings) -> list[BaseRoute]:
    return [
        *login.routes(settings),
        *session_link.routes(settings),
        *home.routes(settings),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
