"""The per-process state of one app: built by its lifespan, reached through dependencies.

`create_app(settings)` builds everything a request needs once, in its lifespan, and yields it as
one `AppState`; Starlette hands it to every request (`request.state.app`), and core/deps.py
gives it to request code. Nothing else holds per-process state: two apps in one process (tests
make several) share nothing but the code.

Domain packages keep their own per-process objects (caches, the group-commit writer) in
`parts`, looked up by their type, so `core/` never imports a domain package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from events_api.core.db import Database
from events_api.core.notify import ChangeListener
from events_api.core.ratelimit import AuthThrottle
from events_api.core.replicas import ReadReplicas
from events_api.core.settings import Settings

T = TypeVar("T")

STATE_KEY = "app"


@dataclass
class AppState:
    settings: Settings
    db: Database
    listener: ChangeListener
    throttle: AuthThrottle
    replicas: ReadReplicas | None = None  # DATABASE_READ_URLS
    parts: dict[type[Any], object] = field(default_factory=dict)

    def add(self, part: object) -> None:
        self.parts[type(part)] = part

    def part(self, kind: type[T]) -> T:
        """The app's one object of this type (a cache, the writer)."""
        return cast(T, self.parts[kind])
