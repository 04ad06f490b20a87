"""The process pool billing PDFs are rendered in (billing.document_store's Renderer), so a render never holds the
event loop's thread, nor the GIL other requests need.

Each web or worker process has one pool of `pdf_render_processes` processes, forked from a server that has already
imported the renderer; each pool process warms the fonts once (billing.pdf_fonts.warm) and keeps them. At most
`pdf_render_queue` renders wait besides the running ones; one more raises RendererBusy (503 with Retry-After).
"""

import asyncio
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from billing.document_store import RendererBusy
from billing.invoice_pdf import Document, render
from billing.pdf_fonts import warm
from gateway.metrics.instruments import observe_pdf_render
from gateway.settings import Settings

# What a client is told to wait before trying a busy renderer again: about one render.
RETRY_AFTER_SECONDS = 2


# The process's pools by size: one in production; tests build many apps in one process and share it.
_EXECUTORS: dict[int, ProcessPoolExecutor] = {}


def _executor(processes: int) -> ProcessPoolExecutor:
    if processes not in _EXECUTORS:
        # A fork server rather than fork: the web process has threads (the database drivers') that fork would copy
        # mid-flight; the server preloads the renderer so a pool process starts in milliseconds.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["billing.invoice_pdf"])
        _EXECUTORS[processes] = ProcessPoolExecutor(processes, mp_context=context, initializer=warm)
    return _EXECUTORS[processes]


class RenderPool:
    """Renders documents in the process pool, refusing work past its bound."""

    def __init__(self, settings: Settings) -> None:
        self.processes = settings.pdf_render_processes
        self.limit = settings.pdf_render_processes + settings.pdf_render_queue
        self.in_flight = 0

    async def __call__(self, document: Document, locale: str) -> bytes:
        if self.in_flight >= self.limit:
            observe_pdf_render("busy")
            raise RendererBusy
        self.in_flight += 1
        started = time.monotonic()
        try:
            rendered = await asyncio.get_running_loop().run_in_executor(
                _executor(self.processes), render, document, locale
            )
        except Exception as error:
            if isinstance(error, BrokenProcessPool):
                # A pool process died (killed, out of memory): the next render starts a fresh pool.
                _EXECUTORS.pop(self.processes, None)
            observe_pdf_render("error")
            raise
        finally:
            self.in_flight -= 1
        observe_pdf_render("ok", time.monotonic() - started)
        return rendered


def close_pools() -> None:
    """Stop the render processes (the web or worker process is stopping), after the render in hand."""
    while _EXECUTORS:
        _EXECUTORS.popitem()[1].shutdown(cancel_futures=True)
