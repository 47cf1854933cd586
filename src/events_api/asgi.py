"""`events_api.asgi:app`, what uvicorn workers import."""

from events_api.main import create_app

app = create_app()
