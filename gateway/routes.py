"""The gateway's routes, read from its entrypoints: the OpenAPI document is built from their
declarations, and the authorization matrix checks that it covers every one."""

import inspect
import re
from dataclasses import dataclass

from gateway.declaration import Declaration
from gateway.http import ApiEntrypoint

PATH_PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")


@dataclass(frozen=True)
class Route:
    method: str                 # lower case, as OpenAPI writes it
    path: str                   # OpenAPI-style: /v1/units/{unit_id}
    name: str                   # the handler's name
    handler: object
    declaration: Declaration
    parameters: tuple           # (name, werkzeug converter) of each path parameter, in order

    def missing(self):
        return self.declaration.missing(self.handler)


def declared_routes(service_cls):
    """Every route of the service with its declaration, by path and method."""
    found = []
    for name, handler in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(handler, "nameko_entrypoints", ()):
            if isinstance(entrypoint, ApiEntrypoint):
                path = PATH_PARAMETER.sub(r"{\2}", entrypoint.url)
                parameters = tuple((n, c or "default")
                                   for c, n in PATH_PARAMETER.findall(entrypoint.url))
                for verb in entrypoint.method.split(","):
                    found.append(Route(verb.lower(), path, name, handler,
                                       entrypoint.declaration, parameters))
    return sorted(found, key=lambda r: (r.path, r.method))


def routes(service_cls):
    """(method, OpenAPI-style path, handler name) of every route."""
    return sorted((r.method, r.path, r.name) for r in declared_routes(service_cls))
