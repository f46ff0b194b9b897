"""python -m sandbox.twilio: run the Twilio sandbox until SIGTERM/SIGINT.

Every flag defaults to an environment variable TWILIO_SANDBOX_<FLAG> (dashes as underscores).
"""

import argparse
import asyncio

from sandbox.kit import env_option, optional_int, serve
from sandbox.twilio.server import build_app
from sandbox.twilio.settings import (
    PARSERS,
    TEST_ACCOUNT_SID,
    Behaviour,
    SandboxSettings,
    changed_behaviour,
)

ENV_PREFIX = "TWILIO_SANDBOX_"


def _numbers(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def _flag(text: str) -> bool:
    if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
        raise argparse.ArgumentTypeError(f"{text!r} is not true or false")
    return text.lower() in ("true", "1", "yes")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = Behaviour()
    parser = argparse.ArgumentParser(prog="python -m sandbox.twilio", description=__doc__)
    option = env_option(parser, ENV_PREFIX)

    option("host", str, "127.0.0.1", "address to listen on")
    option("port", int, 8010, "port to listen on; 0 picks a free one")
    option("account-sid", str, TEST_ACCOUNT_SID, "the only account accepted")
    option("auth-token", str, None, "its auth token, required; also signs webhooks")
    option("create-delay-ms", float, defaults.create_delay_ms, "wait before answering a create")
    option("callback-delay-ms", float, defaults.callback_delay_ms, "wait between status steps")
    option("create-error-rate", float, defaults.create_error_rate, "share of creates refused")
    option("create-error-code", int, defaults.create_error_code, "Twilio code for refusals")
    option("failure-rate", float, defaults.failure_rate, "share of messages ending undelivered")
    option("failure-error-code", int, defaults.failure_error_code, "ErrorCode for failures")
    option("fail-to", _numbers, (), "comma-separated To numbers that always end failed")
    option("reject-to", _numbers, (), "comma-separated To numbers whose create is refused")
    option("opted-out", _numbers, (), "comma-separated To numbers refused with 21610 (STOP)")
    option("server-error-rate", float, defaults.server_error_rate,
           "share of creates answered 500, nothing created")
    option("server-error-after-create-rate", float, defaults.server_error_after_create_rate,
           "share of creates that make the message, then answer 500 (the answer lost)")
    option("throttle-rate", float, defaults.throttle_rate,
           "share of creates answered 429 (20429), nothing created")
    option("queue-full-rate", float, defaults.queue_full_rate,
           "share of messages ending failed with 30001 (Queue overflow)")
    option("unavailable", _flag, defaults.unavailable, "answer every API call 503")
    option("first-attempts-fail", int, defaults.first_attempts_fail,
           "the first N creates to each To answer 500")
    option("drop-final-callback-rate", float, defaults.drop_final_callback_rate,
           "share of messages whose final status callback is never posted")
    option("drop-callbacks-to", _numbers, (),
           "comma-separated To numbers whose final status callback is never posted")
    option("stuck-rate", float, defaults.stuck_rate, "share of messages that stay sent for ever")
    option("callback-concurrency", int, defaults.callback_concurrency,
           "status callbacks in flight at once")
    option("hold-callbacks", _flag, defaults.hold_callbacks,
           "keep status callbacks waiting until set false through /_sandbox/config")
    option("call-delay-ms", float, defaults.call_delay_ms,
           "real time between the steps of a call's life")
    option("call-failed-rate", float, defaults.call_failed_rate, "share of calls ending failed")
    option("call-busy-rate", float, defaults.call_busy_rate, "share of calls ending busy")
    option("call-no-answer-rate", float, defaults.call_no_answer_rate,
           "share of calls ending no-answer")
    option("call-machine-rate", float, defaults.call_machine_rate,
           "share of answered calls answered by a machine")
    option("call-min-seconds", int, defaults.call_min_seconds,
           "shortest simulated duration of an answered call")
    option("call-max-seconds", int, defaults.call_max_seconds,
           "longest simulated duration of an answered call")
    option("seed", optional_int, None, "seed for the random outcomes")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> SandboxSettings:
    """Checked like /_sandbox/config: a bad flag stops the start, naming the flag."""
    try:
        behaviour = changed_behaviour(Behaviour(), {name: getattr(args, name)
                                                    for name in PARSERS})
    except ValueError as exc:
        raise SystemExit(f"python -m sandbox.twilio: {exc}") from None
    if not args.auth_token:
        raise SystemExit("python -m sandbox.twilio: --auth-token (or TWILIO_SANDBOX_AUTH_TOKEN) "
                         "is required: the token the services use (twilio.auth_token)")
    return SandboxSettings(args.account_sid, args.auth_token, behaviour)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    asyncio.run(serve(build_app(settings_from(args)), args.host, args.port,
                      "twilio sandbox"))


if __name__ == "__main__":
    main()
