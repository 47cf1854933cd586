"""Plain routes: documented by FastAPI like any route, served without its request machinery.

A hot route (GET /events/{event_id}) spent more CPU in FastAPI's dependency solving than in its
own work (docs/benchmarks.md, "Lean request path"). A plain route keeps everything FastAPI
derives from the endpoint for the OpenAPI document (path parameters, dependencies and the query
and header parameters they read, their security schemes, `response_model`, `responses`), but
answers a request by calling its endpoint directly:
`endpoint(request, **path_params, **{parameter: value of its dependency})`.

Dependencies are not solved: each must have a plain equivalent, a function of the request
(`plain`, keyed by the dependency's function) run before the endpoint: the router's own (e.g.
authentication) for their effect, the endpoint's for the value its parameter receives (e.g.
the page a `count`/`offset` dependency reads from the query string). A route with a dependency
lacking one is refused when the app is built, so no dependency (no authentication) can be
skipped silently, and so is one with parameters of its own beyond path strings. Path
parameters reach the endpoint as the strings the URL holds (declare them `str`); errors raised
by an equivalent or the endpoint are answered by the app's exception handlers, as from any
route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

Guard = Callable[[Request], Awaitable[object]]
PlainEndpoint = Callable[..., Awaitable[Response]]


def plain_route(plain: Mapping[Callable[..., Any], Guard]) -> type[APIRoute]:
    """A route class (`route_class_override`) whose dependencies run as their `plain`
    equivalents."""

    class PlainRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            checks: list[Guard] = []  # the router's: run for their effect
            values: list[tuple[str, Guard]] = []  # the endpoint's: their value is an argument
            for dependency in self.dependant.dependencies:
                equivalent = plain.get(dependency.call) if dependency.call else None
                if equivalent is None:
                    raise TypeError(f"{self.path}: dependency {dependency.call} has no guard")
                if dependency.name is None:
                    checks.append(equivalent)
                else:
                    values.append((dependency.name, equivalent))
            for param in self.dependant.path_params:
                if param.field_info.annotation is not str:
                    raise TypeError(f"{self.path}: path parameter {param.name} is not a str")
            if self.dependant.query_params or self.dependant.header_params or self.body_field:
                raise TypeError(
                    f"{self.path}: a plain route reads its query and headers through "
                    "dependencies, and no body"
                )
            endpoint: PlainEndpoint = self.endpoint

            async def handle(request: Request) -> Response:
                for check in checks:
                    await check(request)
                arguments = {name: await equivalent(request) for name, equivalent in values}
                return await endpoint(request, **request.path_params, **arguments)

            return handle

    return PlainRoute
