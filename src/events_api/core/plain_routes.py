"""Plain routes: documented by FastAPI like any route, served without its request machinery.

A hot route (GET /events/{event_id}) spent more CPU in FastAPI's dependency solving than in its
own work (docs/benchmarks.md, "Lean request path"). A plain route keeps everything FastAPI
derives from the endpoint for the OpenAPI document (path parameters, the router's dependencies
and their security schemes, `response_model`, `responses`), but answers a request by calling
its endpoint directly: `endpoint(request, **path_params)`, which returns the `Response`.

The router's dependencies are not solved: each must have a plain equivalent, a function of the
request run before the endpoint (`guards`, e.g. the authentication a dependency performs). A
route whose dependencies lack one is refused when the app is built, so no dependency (no
authentication) can be skipped silently. Path parameters reach the endpoint as the strings the
URL holds (declare them `str`); errors raised by a guard or the endpoint are answered by the
app's exception handlers, as from any route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

Guard = Callable[[Request], Awaitable[object]]
PlainEndpoint = Callable[..., Awaitable[Response]]


def plain_route(guards: Mapping[Callable[..., Any], Guard]) -> type[APIRoute]:
    """A route class (`route_class_override`) whose dependencies run as these guards."""

    class PlainRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            checks: list[Guard] = []
            for dependency in self.dependant.dependencies:
                guard = guards.get(dependency.call) if dependency.call else None
                if guard is None:
                    raise TypeError(f"{self.path}: dependency {dependency.call} has no guard")
                checks.append(guard)
            for param in self.dependant.path_params:
                if param.field_info.annotation is not str:
                    raise TypeError(f"{self.path}: path parameter {param.name} is not a str")
            if self.dependant.query_params or self.dependant.header_params or self.body_field:
                raise TypeError(f"{self.path}: a plain route reads no query, header or body")
            endpoint: PlainEndpoint = self.endpoint

            async def handle(request: Request) -> Response:
                for check in checks:
                    await check(request)
                return await endpoint(request, **request.path_params)

            return handle

    return PlainRoute
