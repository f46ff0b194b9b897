"""nameko entrypoints as Townhall uses them: a domain error is an expected answer, logged
as a warning without a traceback, not an error of the service."""

from nameko.rpc import rpc as nameko_rpc

from contracts.errors import DomainError


def rpc(fn=None, **options):
    """`@rpc` or `@rpc(...)`. nameko drops keyword arguments given through a partial when
    its decorator is used bare, so they are applied here in both forms."""
    options.setdefault("expected_exceptions", (DomainError,))
    register = nameko_rpc(**options)
    return register(fn) if fn is not None else register
