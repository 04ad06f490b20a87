"""The HTTP plumbing every route shares: the ASGI middleware (hosts, CORS, body limits, request ids, security
headers), CSRF, JSON bodies, who a request is signed in as, and keeping secrets out of the access log."""
