"""tickets: unit and common-area work orders — reported by residents or staff, moved through
Pilera's statuses, assigned, commented on with files, logged, printed, and announced.

The entrypoints live in the mixins named for what they do; each checks, through policy.py
and visibility.py, that its caller may see or change the ticket."""

from servicekit.blobs import Blobs
from servicekit.providers import Database, Rpc
from servicekit.service import TownhallService
from services.tickets.comments import Comments
from services.tickets.listing import Listing
from services.tickets.models import Base
from services.tickets.overdue import Overdue
from services.tickets.reading import Reading
from services.tickets.reporting import Reporting
from services.tickets.settings import Settings
from services.tickets.working import Working


class TicketsService(TownhallService, Reporting, Reading, Working, Comments, Listing,
                     Settings, Overdue):
    name = "tickets"
    db = Database(Base)
    directory = Rpc("directory")
    blobs = Blobs()
