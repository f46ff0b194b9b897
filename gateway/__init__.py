"""The HTTP gateway: authentication, the public API, provider webhooks, OpenAPI."""
