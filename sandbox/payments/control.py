"""The /_sandbox routes: what tests use to steer the fake provider and read what it received."""


from aiohttp import web

from sandbox.kit import add_config_routes
from sandbox.payments.state import PaymentsSandbox


def add_routes(app: web.Application, sandbox_key: web.AppKey[PaymentsSandbox]) -> None:
    def sandbox_of(request: web.Request) -> PaymentsSandbox:
        return request.app[sandbox_key]

    async def health(request: web.Request) -> web.Response:
        sandbox = sandbox_of(request)
        return web.json_response({"status": "ok", "payment_intents": len(sandbox.intents)})

    async def all_intents(request: web.Request) -> web.Response:
        intents = sandbox_of(request).intents.values()
        return web.json_response([intent.inspection() for intent in intents])

    async def one_intent(request: web.Request) -> web.Response:
        intent = sandbox_of(request).intents.get(request.match_info["id"])
        if intent is None:
            return web.json_response({"error": "no such payment intent"}, status=404)
        return web.json_response(intent.inspection())

    async def received(request: web.Request) -> web.Response:
        """Every /v1 request in arrival order: method, path, key, params, the status answered."""
        return web.json_response(sandbox_of(request).received)

    add_config_routes(app, sandbox_of)
    app.router.add_get("/_sandbox/health", health)
    app.router.add_get("/_sandbox/payment_intents", all_intents)
    app.router.add_get("/_sandbox/payment_intents/{id}", one_intent)
    app.router.add_get("/_sandbox/requests", received)
