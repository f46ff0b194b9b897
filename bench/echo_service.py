"""`python -m bench.echo_service <amqp_uri> [max_workers]`: one nameko service, `echo`, for B1.

Prints "ready" once it consumes; stops on SIGTERM, or when the bench that started it is gone.
"""

import eventlet

eventlet.monkey_patch()  # before anything imports socket, threading or time

import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.rpc import rpc  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402

from bench.rpc_echo import SERVICE_NAME  # noqa: E402

ORPHAN_CHECK_SECONDS = 1


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
    eventlet.spawn(_stop_when_orphaned, stopped, os.getppid())
    stopped.wait()
    runner.stop()


def _stop_when_orphaned(stopped, parent):
    # if the bench dies without a SIGTERM we do not linger
    while not stopped.ready():
        if os.getppid() != parent:
            stopped.send()
            return
        eventlet.sleep(ORPHAN_CHECK_SECONDS)


if __name__ == "__main__":
    main(sys.argv[1:])
