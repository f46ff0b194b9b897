"""`python -m bench.echo_service <amqp_uri> [max_workers]`: one nameko service, `echo`, for B1.

Prints "ready" once it consumes; stops on SIGTERM (or when its stdin closes).
"""

import eventlet

eventlet.monkey_patch()  # before anything imports socket, threading or time

import signal  # noqa: E402
import sys  # noqa: E402

from nameko.rpc import rpc  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402

from bench.rpc_echo import SERVICE_NAME  # noqa: E402


class EchoService:
    name = SERVICE_NAME

    @rpc
    def echo(self, x):
        return x


def main(argv):
    uri = argv[0]
    max_workers = int(argv[1]) if len(argv) > 1 else 10
    runner = ServiceRunner(config={"AMQP_URI": uri, "max_workers": max_workers})
    runner.add_service(EchoService)
    stopped = eventlet.event.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.ready() or stopped.send())
    runner.start()
    print("ready", flush=True)
    eventlet.spawn(_stop_when_stdin_closes, stopped)
    stopped.wait()
    runner.stop()


def _stop_when_stdin_closes(stopped):
    # the bench holds our stdin; if it dies without a SIGTERM we do not linger
    from eventlet.green import os as green_os

    while green_os.read(sys.stdin.fileno(), 1):
        pass
    if not stopped.ready():
        stopped.send()


if __name__ == "__main__":
    main(sys.argv[1:])
