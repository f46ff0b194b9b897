"""Channel preferences (email / text / voice, seed 000), a resident's consent history with its
current state, and the proof of consent as CSV.

Mixed into ConsentService. Directory decides who may see a resident (get_resident); on top
of that a resident reads and changes only their own, and staff change them only with
manage_directory for the resident's community. A preference is a channel-wide act in the
append-only log (category_id None): grant = on, withdraw = off; never set = on.
"""

from sqlalchemy import select

from contracts.errors import Forbidden, InvalidRequest
from contracts.vocabulary import CHANNELS
from servicekit.access import Caller, new_id
from servicekit.entrypoints import rpc
from servicekit.spreadsheets import to_csv
from services.consent.keyword_replies import KEYWORD_METHODS, history_label
from services.consent.models import Category, ConsentEvent
from services.consent.rules import Act, decide, facts_from_log
from services.consent.texting import keyword_stops, our_sender

WORDING_LIMIT = 1000
EXPORT_PAGE = 200
EXPORT_COLUMNS = ("occurred_at", "resident_id", "channel", "category_id", "category_name",
                  "action", "method", "recorded_by", "wording", "address", "ip", "message_id",
                  "obtained_at", "source")
# the log is read in chunks so a community of any size stays under bind-parameter limits
CHUNK = 500


class Preferences:
    @rpc
    def get_preferences(self, identity, resident_id):
        resident = self._readable_resident(Caller.of(identity), identity, resident_id)
        with self.db.read() as session:
            rows = _log(session, resident, channel_wide=True)
        return {"resident_id": resident_id, "channels": channel_states(rows)}

    @rpc
    def set_preferences(self, identity, resident_id, changes, wording, ip=None):
        """Append one channel-wide act per channel that changes, with the words shown."""
        caller = Caller.of(identity)
        _check_changes(changes)
        if not isinstance(wording, str) or not wording.strip() or len(wording) > WORDING_LIMIT:
            raise InvalidRequest(f"the words shown are required: 1 to {WORDING_LIMIT} "
                                 "characters", "wording")
        resident = self.directory.get_resident(identity, resident_id)
        if caller.is_resident:
            if caller.actor_id != resident_id:
                raise Forbidden("residents change only their own preferences", "resident_id")
            method = "portal"
        else:
            caller.require("manage_directory", resident["community_id"])
            method = "staff_on_behalf"
        evidence = {"wording": wording, "ip": ip, "by": caller.actor_id}
        with self.db.unit_of_work() as uow:
            current = channel_states(_log(uow.session, resident, channel_wide=True))
            for channel in CHANNELS:
                if channel not in changes or current[channel]["on"] == changes[channel]:
                    continue
                action = "grant" if changes[channel] else "withdraw"
                uow.session.add(ConsentEvent(
                    id=new_id("cev"), organization_id=resident["organization_id"],
                    resident_id=resident_id, category_id=None, channel=channel,
                    action=action, method=method, recorded_by=caller.actor_id,
                    evidence=evidence))
                uow.emit("consent_recorded", {"resident_id": resident_id, "channel": channel,
                                              "category_id": None, "action": action,
                                              "method": method},
                         organization_id=resident["organization_id"])
            uow.session.flush()
            current = channel_states(_log(uow.session, resident, channel_wide=True))
        return {"resident_id": resident_id, "channels": current}

    @rpc
    def consent_history(self, identity, resident_id):
        """Every act, oldest first, and what it means now for each category and channel."""
        resident = self._readable_resident(Caller.of(identity), identity, resident_id)
        with self.db.read() as session:
            rows = _log(session, resident)
            categories = _categories(session, resident["organization_id"])
            # texts: whether their phone stopped our number (keyword acts are only proof)
            stopped = bool(keyword_stops(session, [resident.get("phone")],
                                         our_sender(self.config)))
        names = {c.id: c.name for c in categories}
        state = []
        for category in sorted((c for c in categories if c.archived_at is None),
                               key=lambda c: (c.name.lower(), c.id)):
            for channel in CHANNELS:
                acts = [Act(r.category_id, r.action, r.seq) for r in rows
                        if r.channel == channel and r.category_id in (None, category.id)
                        and r.method not in KEYWORD_METHODS]
                decision = decide(facts_from_log(category.mode, category.transactional, acts,
                                                 has_contact_point=True,
                                                 keyword_stopped=stopped and channel == "sms"))
                state.append({"category_id": category.id, "category_name": category.name,
                              "channel": channel, "allowed": decision.allowed,
                              "reason": decision.reason})
        return {"resident_id": resident_id, "events": [_event_view(r, names) for r in rows],
                "state": state}

    @rpc
    def export_consents(self, identity, resident_id=None, community_id=None):
        """The proof of consent as CSV: one resident's log, or a whole community's."""
        caller = Caller.of(identity)
        if (resident_id is None) == (community_id is None):
            raise InvalidRequest("give either a resident or a community", "resident_id")
        if resident_id is not None:
            resident = self._readable_resident(caller, identity, resident_id)
            organization_id, resident_ids = resident["organization_id"], [resident_id]
        else:
            community = self.directory.get_community(identity, community_id)
            caller.require_any(("manage_consent_categories", "manage_directory"), community_id)
            organization_id = community["organization_id"]
            resident_ids = self._community_residents(identity, community_id)
        with self.db.read() as session:
            names = {c.id: c.name for c in _categories(session, organization_id)}
            rows = []
            for start in range(0, len(resident_ids), CHUNK):
                rows.extend(session.scalars(select(ConsentEvent).where(
                    ConsentEvent.organization_id == organization_id,
                    ConsentEvent.resident_id.in_(resident_ids[start:start + CHUNK]))))
        rows.sort(key=lambda r: r.seq)
        return proof_csv(_event_view(r, names) for r in rows)

    def _readable_resident(self, caller, identity, resident_id):
        """Directory answers only residents the caller may see; a resident reads only their
        own consents, not their unit mates'."""
        resident = self.directory.get_resident(identity, resident_id)
        if caller.is_resident and caller.actor_id != resident_id:
            raise Forbidden("residents see only their own consents", "resident_id")
        return resident

    def _community_residents(self, identity, community_id):
        ids, cursor = [], None
        while True:
            page = self.directory.list_residents(identity, community_id=community_id,
                                                 include_moved_out=True, cursor=cursor,
                                                 limit=EXPORT_PAGE)
            ids.extend(r["id"] for r in page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return ids


def channel_states(rows):
    """{channel: {on, since, method, by}} from channel-wide acts; the latest counts."""
    states = {c: {"on": True, "since": None, "method": None, "by": None} for c in CHANNELS}
    for row in sorted(rows, key=lambda r: r.seq):
        if row.category_id is None and row.channel in states:
            states[row.channel] = {"on": row.action == "grant",
                                   "since": row.occurred_at.isoformat(),
                                   "method": row.method, "by": row.recorded_by}
    return states


def proof_csv(events):
    return to_csv(EXPORT_COLUMNS, (dict(event, **proof_columns(event)) for event in events))


def proof_columns(event):
    """The evidence as columns: the words shown, the contact point the act concerns, the
    actor's IP address, the provider's message id (SMS keywords, carrier opt-outs), and for
    imported records when and where the consent was originally obtained."""
    evidence = event["evidence"] or {}
    ip = evidence.get("ip")
    if ip is None and event["method"] in ("portal", "staff_on_behalf"):
        ip = evidence.get("address")   # preferences recorded before "ip" had its own key
        address = None
    else:
        address = evidence.get("address")
    return {"wording": evidence.get("wording"), "address": address, "ip": ip,
            "message_id": evidence.get("message_sid"),
            "obtained_at": evidence.get("obtained_at"), "source": evidence.get("source")}


def _check_changes(changes):
    if not isinstance(changes, dict) or not changes:
        raise InvalidRequest("name at least one channel to turn on or off", "channels")
    for channel, on in changes.items():
        if channel not in CHANNELS:
            raise InvalidRequest(f"must be one of {', '.join(CHANNELS)}", "channels")
        if not isinstance(on, bool):
            raise InvalidRequest(f"{channel} must be true or false", "channels")


def _log(session, resident, channel_wide=False):
    query = select(ConsentEvent).where(
        ConsentEvent.organization_id == resident["organization_id"],
        ConsentEvent.resident_id == resident["id"])
    if channel_wide:
        # the channel preference: keyword stops are the keyword log's, not the resident's
        query = query.where(ConsentEvent.category_id.is_(None),
                            ConsentEvent.method.not_in(KEYWORD_METHODS))
    return list(session.scalars(query.order_by(ConsentEvent.seq)))


def _categories(session, organization_id):
    return list(session.scalars(select(Category).where(
        Category.organization_id == organization_id)))


def _event_view(row, names):
    return {"id": row.id, "occurred_at": row.occurred_at.isoformat(),
            "resident_id": row.resident_id, "channel": row.channel,
            "category_id": row.category_id, "category_name": names.get(row.category_id),
            "action": row.action, "method": row.method, "recorded_by": row.recorded_by,
            "label": history_label(row.method, row.action),
            "evidence": dict(row.evidence or {})}
