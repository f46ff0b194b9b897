"""nameko entrypoints as Townhall uses them: a domain error is an expected answer, logged
as a warning without a traceback, not an error of the service."""

from functools import partial

from nameko.rpc import rpc as nameko_rpc

from contracts.errors import DomainError

rpc = partial(nameko_rpc, expected_exceptions=(DomainError,))
