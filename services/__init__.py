"""Townhall's services; each owns its data and migrations."""
