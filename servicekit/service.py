"""What every Townhall service with a database has: its configuration, tracing and a health
RPC that proves the database answers."""

from nameko.dependency_providers import Config
from sqlalchemy import select

from servicekit.entrypoints import rpc
from servicekit.tracing import Tracing


class TownhallService:
    config = Config()
    tracing = Tracing()

    @rpc
    def health(self):
        with self.db.read() as session:
            session.execute(select(1))
        return {"service": self.name, "status": "ok"}
