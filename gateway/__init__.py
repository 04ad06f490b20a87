"""The edge and composition root: the Starlette app, pages, CLI, settings, email and webhook delivery, worker."""
