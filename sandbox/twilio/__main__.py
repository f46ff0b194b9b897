"""python -m sandbox.twilio: run the Twilio sandbox until SIGTERM/SIGINT.

Every flag defaults to an environment variable TWILIO_SANDBOX_<FLAG> (dashes as underscores).
"""

import argparse
import asyncio
import os

from sandbox.kit import serve
from sandbox.twilio.server import build_app
from sandbox.twilio.settings import Behaviour, SandboxSettings

ENV_PREFIX = "TWILIO_SANDBOX_"


def _numbers(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def _optional_int(text: str) -> int | None:
    return int(text) if text.strip() else None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = Behaviour()
    parser = argparse.ArgumentParser(prog="python -m sandbox.twilio", description=__doc__)

    def option(flag: str, kind, default, help_text: str) -> None:
        env_name = ENV_PREFIX + flag.upper().replace("-", "_")
        env_value = os.environ.get(env_name)
        parser.add_argument(
            f"--{flag}",
            type=kind,
            default=kind(env_value) if env_value is not None else default,
            help=f"{help_text} (env {env_name})",
        )

    option("host", str, "127.0.0.1", "address to listen on")
    option("port", int, 8010, "port to listen on; 0 picks a free one")
    option("account-sid", str, SandboxSettings.account_sid, "the only account accepted")
    option("auth-token", str, SandboxSettings.auth_token, "its auth token; also signs webhooks")
    option("create-delay-ms", float, defaults.create_delay_ms, "wait before answering a create")
    option("callback-delay-ms", float, defaults.callback_delay_ms, "wait between status steps")
    option("create-error-rate", float, defaults.create_error_rate, "share of creates refused")
    option("create-error-code", int, defaults.create_error_code, "Twilio code for refusals")
    option("failure-rate", float, defaults.failure_rate, "share of messages ending undelivered")
    option("failure-error-code", int, defaults.failure_error_code, "ErrorCode for failures")
    option("fail-to", _numbers, (), "comma-separated To numbers that always end failed")
    option("reject-to", _numbers, (), "comma-separated To numbers whose create is refused")
    option("opted-out", _numbers, (), "comma-separated To numbers refused with 21610 (STOP)")
    option("seed", _optional_int, None, "seed for the random outcomes")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> SandboxSettings:
    behaviour = Behaviour(
        create_delay_ms=args.create_delay_ms,
        callback_delay_ms=args.callback_delay_ms,
        create_error_rate=args.create_error_rate,
        create_error_code=args.create_error_code,
        failure_rate=args.failure_rate,
        failure_error_code=args.failure_error_code,
        fail_to=args.fail_to,
        reject_to=args.reject_to,
        opted_out=args.opted_out,
        seed=args.seed,
    )
    return SandboxSettings(args.account_sid, args.auth_token, behaviour)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    asyncio.run(serve(build_app(settings_from(args)), args.host, args.port,
                      "twilio sandbox"))


if __name__ == "__main__":
    main()
