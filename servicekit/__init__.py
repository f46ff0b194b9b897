"""Plumbing every Townhall service shares: configuration, logging, database, outbox,
reliable event consumers, RPC with timeouts, and the process runner."""
