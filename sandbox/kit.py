"""What every HTTP sandbox shares: serving until SIGTERM/SIGINT, the /_sandbox config and
reset routes, and the checks on the settings a test may change at run time."""

import asyncio
import json
import signal
from typing import Any

from aiohttp import web


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
