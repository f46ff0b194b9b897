"""tickets: resident work orders. For now it starts, migrates and answers health."""

from servicekit.providers import Database
from servicekit.service import TownhallService
from services.tickets.models import Base


class TicketsService(TownhallService):
    name = "tickets"
    db = Database(Base)

