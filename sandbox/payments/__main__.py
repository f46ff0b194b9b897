"""python -m sandbox.payments: run the payment sandbox until SIGTERM/SIGINT.

Every flag defaults to an environment variable PAYMENTS_SANDBOX_<FLAG> (dashes as underscores).
"""

import argparse
import asyncio

from sandbox.kit import env_option, optional_int, serve
from sandbox.payments.server import build_app
from sandbox.payments.settings import Behaviour, SandboxSettings, changed_behaviour

ENV_PREFIX = "PAYMENTS_SANDBOX_"


def _flag(text: str) -> bool:
    if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
        raise argparse.ArgumentTypeError(f"{text!r} is not true or false")
    return text.lower() in ("true", "1", "yes")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = Behaviour()
    parser = argparse.ArgumentParser(prog="python -m sandbox.payments", description=__doc__)
    option = env_option(parser, ENV_PREFIX)

    option("host", str, "127.0.0.1", "address to listen on")
    option("port", int, 8030, "port to listen on; 0 picks a free one")
    option("secret-key", str, None, "the only API key accepted, required")
    option("create-delay-ms", float, defaults.create_delay_ms, "wait before answering a create")
    option("decline-rate", float, defaults.decline_rate, "share of good cards declined anyway")
    option("decline-code", str, defaults.decline_code, "decline_code of those declines")
    option("server-error-rate", float, defaults.server_error_rate,
           "share of creates that charge, then answer 500")
    option("unavailable", _flag, defaults.unavailable, "answer every API call 503")
    option("seed", optional_int, None, "seed for the random outcomes")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> SandboxSettings:
    """Checked like /_sandbox/config: a bad flag stops the start, naming the flag."""
    names = ("create_delay_ms", "decline_rate", "decline_code", "server_error_rate",
             "unavailable", "seed")
    try:
        behaviour = changed_behaviour(Behaviour(), {name: getattr(args, name) for name in names})
    except ValueError as exc:
        raise SystemExit(f"python -m sandbox.payments: {exc}") from None
    if not args.secret_key:
        raise SystemExit("python -m sandbox.payments: --secret-key (or "
                         "PAYMENTS_SANDBOX_SECRET_KEY) is required: the key the services use "
                         "(payments.secret_key)")
    return SandboxSettings(args.secret_key, behaviour)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    asyncio.run(serve(build_app(settings_from(args)), args.host, args.port,
                      "payment sandbox"))


if __name__ == "__main__":
    main()
