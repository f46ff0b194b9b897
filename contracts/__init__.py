"""Townhall's public contracts: event envelope and payload schemas, HTTP schemas,
domain errors. Shared by every service and by the gateway; the event catalogue is
generated from here."""
