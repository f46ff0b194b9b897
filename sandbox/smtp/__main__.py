"""python -m sandbox.smtp: run the SMTP sink and its HTTP API until SIGTERM/SIGINT.

Flags default to SMTP_SANDBOX_HOST, SMTP_SANDBOX_PORT and SMTP_SANDBOX_API_PORT.
"""

import argparse
import asyncio
import os
import signal

from sandbox.smtp.server import serve


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m sandbox.smtp", description=__doc__)
    parser.add_argument("--host", default=env("SMTP_SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("SMTP_SANDBOX_PORT", "8025")))
    parser.add_argument("--api-port", type=int, default=int(env("SMTP_SANDBOX_API_PORT", "8026")))
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve(args.host, args.port, args.api_port, stop)


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
