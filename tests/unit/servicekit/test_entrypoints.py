from nameko.rpc import Rpc

from contracts.errors import DomainError
from servicekit.entrypoints import rpc
from services.directory.service import DirectoryService


def test_every_rpc_treats_domain_errors_as_expected_answers():
    @rpc
    def bare():
        pass

    @rpc(sensitive_arguments=("password",))
    def with_options(password):
        pass

    for fn in (bare, with_options, DirectoryService.login, DirectoryService.create_resident):
        entrypoint, = [e for e in fn.nameko_entrypoints if isinstance(e, Rpc)]
        assert entrypoint.expected_exceptions == (DomainError,), fn
