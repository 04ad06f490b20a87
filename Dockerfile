# The portal image: one install, run as `portal serve`, `portal migrate` or `portal worker` (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY . .
RUN pip install . && rm -rf /src

# The portal never needs root; its home is the working directory for anything it writes.
RUN useradd --create-home --uid 10001 portal
USER portal
WORKDIR /home/portal

EXPOSE 8000
# `portal serve` answers /healthz without touching the database (README: Health and readiness); a container running
# `portal worker` has no web port and turns this off (docker-compose.yml).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${PORTAL_PORT:-8000}/healthz', timeout=4)"
CMD ["portal", "serve", "--host", "0.0.0.0"]
