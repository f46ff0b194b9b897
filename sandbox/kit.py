"""What every HTTP sandbox shares: command-line flags that default to environment variables,
serving until SIGTERM/SIGINT, the /_sandbox config and reset routes, and behaviour changed at
run time — all of a change or none, checked per setting — with seeded chances."""

import argparse
import asyncio
import json
import os
import random
import signal
from dataclasses import replace
from typing import Any

from aiohttp import web


def env_option(parser: argparse.ArgumentParser, env_prefix: str):
    """`option(flag, kind, default, help)`: a --flag whose default is <env_prefix><FLAG>."""

    def option(flag: str, kind, default, help_text: str) -> None:
        env_name = env_prefix + flag.upper().replace("-", "_")
        env_value = os.environ.get(env_name)
        parser.add_argument(f"--{flag}", type=kind,
                            default=kind(env_value) if env_value is not None else default,
                            help=f"{help_text} (env {env_name})")

    return option


def optional_int(text: str) -> int | None:
    return int(text) if text.strip() else None


async def serve(app: web.Application, host: str, port: int, label: str) -> None:
    """Serve `app` until SIGTERM or SIGINT; print the bound address (port 0 picks one)."""
    runner = web.AppRunner(app, access_log=None)  # logging every hit costs
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    bound_port = runner.addresses[0][1]
    print(f"{label} listening on http://{host}:{bound_port}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def add_config_routes(app: web.Application, sandbox_of) -> None:
    """POST /_sandbox/config (change behaviour) and POST /_sandbox/reset (forget all)."""

    async def configure(request: web.Request) -> web.Response:
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object of settings")
            behaviour = sandbox_of(request).configure(changes)
        except (ValueError, json.JSONDecodeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(behaviour.as_json())

    async def reset(request: web.Request) -> web.Response:
        sandbox = sandbox_of(request)
        sandbox.reset()
        return web.json_response(sandbox.behaviour.as_json())

    app.router.add_post("/_sandbox/config", configure)
    app.router.add_post("/_sandbox/reset", reset)


def delay(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number of milliseconds >= 0")
    return float(value)


def rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number between 0 and 1")
    return float(value)


def seed(name: str, value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{name} must be an integer or null")
    return value


def changed_behaviour(current, changes: dict[str, Any], parsers: dict):
    """Apply a partial update to a frozen behaviour; all of it or none of it (raises
    ValueError naming the field). `parsers`: setting name -> parser(name, value)."""
    unknown = sorted(set(changes) - set(parsers))
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(parsers)}")
    parsed = {name: parsers[name](name, value) for name, value in changes.items()}
    return replace(current, **parsed)


class Steerable:
    """A sandbox state's behaviour, changed through /_sandbox/config, and its seeded chances.
    Subclasses set PARSERS and call `start_behaviour` when they (re)start."""

    PARSERS: dict = {}

    @property
    def behaviour(self):
        return self._behaviour

    def start_behaviour(self, behaviour) -> None:
        self._behaviour = behaviour
        self._random = random.Random(behaviour.seed)

    def configure(self, changes: dict[str, Any]):
        self._behaviour = changed_behaviour(self._behaviour, changes, self.PARSERS)
        if "seed" in changes:
            self._random = random.Random(self._behaviour.seed)
        return self._behaviour

    def _chance(self, rate: float) -> bool:
        # no draw at rate 0 keeps a seeded sequence the same whatever else is configured
        return rate > 0 and self._random.random() < rate
