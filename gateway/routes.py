"""The gateway's routes, read from its entrypoints: used to check that the OpenAPI document
and the authorization matrix cover every one."""

import inspect
import re

from gateway.http import ApiEntrypoint


def routes(service_cls):
    """(method, OpenAPI-style path, handler name) of every route."""
    found = []
    for name, method in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, ApiEntrypoint):
                path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", entrypoint.url)
                for verb in entrypoint.method.split(","):
                    found.append((verb.lower(), path, name))
    return sorted(found)
