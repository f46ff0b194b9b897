"""tickets: resident work orders. For now it starts, migrates and answers health."""

from nameko.dependency_providers import Config
from sqlalchemy import select

from servicekit.entrypoints import rpc
from servicekit.providers import Database
from servicekit.tracing import Tracing
from services.tickets.models import Base


class TicketsService:
    name = "tickets"
    config = Config()
    db = Database(Base)
    tracing = Tracing()

    @rpc
    def health(self):
        with self.db.read() as session:
            session.execute(select(1))
        return {"service": self.name, "status": "ok"}
