"""An SMTP sink that keeps every message it receives and shows them over a small HTTP API."""
