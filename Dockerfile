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
CMD ["portal", "serve", "--host", "0.0.0.0"]
