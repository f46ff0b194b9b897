"""consent: categories and the append-only consent log; answers `check` in batches."""

from sqlalchemy import or_, select

from contracts.errors import InvalidRequest
from contracts.vocabulary import CHANNELS
from servicekit.access import Caller, new_id
from servicekit.consumers import on_event
from servicekit.entrypoints import rpc
from servicekit.providers import Database, Rpc
from servicekit.service import TownhallService
from services.consent import call_opt_outs
from services.consent.categories import Categories, owned_category
from services.consent.imports import ConsentImports
from services.consent.keyword_replies import KEYWORD_METHODS
from services.consent.models import Base, ConsentEvent
from services.consent.preferences import Preferences
from services.consent.requests import ConsentRequests
from services.consent.rules import Act, decide, facts_from_log
from services.consent.texting import Texting, keyword_stops, our_sender
from services.consent.unsubscribe import Unsubscribe

CHECK_LIMIT = 10_000


class ConsentService(TownhallService, Categories, Preferences, Texting, Unsubscribe,
                     ConsentRequests, ConsentImports):
    name = "consent"
    db = Database(Base)
    directory = Rpc("directory")

    @rpc
    def record(self, identity, resident_id, channel, action, method, category_id=None,
               evidence=None):
        """Append one grant or withdrawal with its evidence."""
        caller = Caller.of(identity)
        if channel not in CHANNELS:
            raise InvalidRequest(f"must be one of {', '.join(CHANNELS)}", "channel")
        if action not in ("grant", "withdraw"):
            raise InvalidRequest("must be grant or withdraw", "action")
        with self.db.unit_of_work() as uow:
            if category_id is not None:
                owned_category(uow.session, caller, category_id)
            row = ConsentEvent(id=new_id("cev"), organization_id=caller.organization_id,
                               resident_id=resident_id, category_id=category_id,
                               channel=channel, action=action, method=method,
                               recorded_by=caller.actor_id, evidence=evidence or {})
            uow.session.add(row)
            uow.emit("consent_recorded", {"resident_id": resident_id, "channel": channel,
                                          "category_id": category_id, "action": action,
                                          "method": method},
                     organization_id=caller.organization_id)
        return {"id": row.id}

    @on_event("messaging", "call_opt_out_received")
    def record_call_opt_out(self, event, uow):
        """The opt-out key pressed in a call: a withdrawal from that category's calls."""
        call_opt_outs.record(uow, event.organization_id, event.data)

    @rpc
    def check(self, identity, category_id, channel, recipients):
        """For each {resident_id, has_contact_point, address}: {resident_id, allowed, reason}.

        One call for a whole batch: the log of every recipient is read in one query, and
        for texts the keyword stops of every address (phone) to our sender in one more.
        Keyword acts in the log are proof, not the channel preference.
        """
        caller = Caller.of(identity)
        if len(recipients) > CHECK_LIMIT:
            raise InvalidRequest(f"at most {CHECK_LIMIT} recipients per call", "recipients")
        with self.db.read() as session:
            category = owned_category(session, caller, category_id)
            resident_ids = [r["resident_id"] for r in recipients]
            rows = session.execute(
                select(ConsentEvent.resident_id, ConsentEvent.category_id,
                       ConsentEvent.action, ConsentEvent.seq)
                .where(ConsentEvent.organization_id == category.organization_id,
                       ConsentEvent.channel == channel,
                       ConsentEvent.resident_id.in_(resident_ids),
                       ConsentEvent.method.not_in(KEYWORD_METHODS),
                       or_(ConsentEvent.category_id.is_(None),
                           ConsentEvent.category_id == category_id))).all()
            stops = (keyword_stops(session, [r.get("address") for r in recipients],
                                   our_sender(self.config)) if channel == "sms" else {})
        acts = {}
        for row in rows:
            acts.setdefault(row.resident_id, []).append(Act(row.category_id, row.action, row.seq))
        decisions = []
        for recipient in recipients:
            decision = decide(facts_from_log(
                category.mode, category.transactional, acts.get(recipient["resident_id"], []),
                recipient.get("has_contact_point", True),
                keyword_stopped=stops.get(recipient.get("address"), False)))
            decisions.append({"resident_id": recipient["resident_id"],
                              "allowed": decision.allowed, "reason": decision.reason})
        return decisions
