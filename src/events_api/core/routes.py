"""The app's route templates, for what must name a route without routing the request: the
metrics' `handler` label and the access log (also for answers given before routing, such as a
413), and 405's `Allow` (every method served at a path)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import Route, compile_path
from starlette.types import Scope


@dataclass(frozen=True)
class RouteTemplate:
    regex: re.Pattern[str]
    template: str
    methods: frozenset[str]


class RouteTable:
    def __init__(self, routes: Iterable[tuple[str, set[str] | None]]) -> None:
        self.routes = [
            RouteTemplate(compile_path(path)[0], path, frozenset(methods or ()))
            for path, methods in routes
        ]

    @classmethod
    def of(cls, routers: Iterable[tuple[str, APIRouter]], routes: Iterable[object]) -> RouteTable:
        """The routes of these routers (each under its prefix) and these plain routes."""
        found = [
            (prefix + route.path, route.methods)
            for prefix, router in routers
            for route in router.routes
            if isinstance(route, APIRoute)
        ]
        found += [(route.path, route.methods) for route in routes if isinstance(route, Route)]
        return cls(found)

    def template(self, path: str) -> str | None:
        """The template of the route serving `path` (as routing sees it: see `route_path`)."""
        for route in self.routes:
            if route.regex.match(path):
                return route.template
        return None

    def allowed_methods(self, path: str) -> str:
        """Every method served at this path by the route routing picks (the first template
        that matches: `/events/batch`, not `/events/{event_id}`)."""
        template = self.template(path)
        methods: set[str] = set()
        for route in self.routes:
            if route.template == template:
                methods |= route.methods
        if "GET" in methods:
            methods.add("HEAD")  # core/http_rules.py HeadAsGet
        return ", ".join(sorted(methods))


def route_path(scope: Scope) -> str:
    """The request's path as the app routes it: without the `root_path` a proxy serves it under."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
