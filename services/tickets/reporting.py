"""Reporting a work order: where it is, who reports it, how to reach them, and its number.

Mixed into TicketsService. The rules, in the order they apply:
1. A resident reports for their own unit (a unit work order) or their own community (a
   common-area one); naming another unit or community is forbidden. Staff report with
   `manage_tickets` for the community, naming the unit or the community, and may report on
   a resident's behalf (`reporter_resident_id`, who must live there).
2. A common-area work order says where (`location`); entry permission, entry notes and
   preferred times belong to unit work orders only.
3. The category is one of the organization's (its settings), `other` by default.
4. The reporter's contact email: the one given, else their email on file. A resident with
   neither is asked for one (a 422 on `contact_email`); one a resident gives that is not on
   file is added to their contact points, so they hear back.
5. It is due its organization's response target for the priority; its number is the
   organization's next (WO-1001, WO-1002...).
Management is told at once (announcing.created), in the same transaction as the ticket.
"""

from sqlalchemy import select, update

from contracts.errors import Forbidden, InvalidRequest
from servicekit import idempotency
from servicekit.access import Caller, new_id
from servicekit.db import insert_missing, utcnow
from servicekit.entrypoints import rpc
from services.tickets import activity, announcing, due_dates, policy, settings, views
from services.tickets.models import OrganizationTicketSettings, Ticket, TicketNumber

UNIT_ONLY = ("permission_to_enter", "entry_notes", "preferred_times")


class Reporting:
    @rpc
    def create_ticket(self, identity, fields, idempotency_key=None):
        caller = Caller.of(identity)
        with self.db.read() as session:
            org_settings = settings.organization_view(
                caller.organization_id,
                session.get(OrganizationTicketSettings, caller.organization_id))
        category = _category(fields.get("category"), org_settings["categories"])
        where = self._where(identity, caller, fields)
        reporter = self._reporter(identity, caller, fields, where)
        staff = announcing.staff_to_tell(self.directory, self.db.read,
                                         caller.organization_id, where["community_id"],
                                         "created")

        def work(uow):
            session = uow.session
            now = utcnow()
            kind, actor_id, name = activity.who(identity)
            row = Ticket(
                id=new_id("tkt"), organization_id=caller.organization_id,
                number=_next_number(session, caller.organization_id), kind=fields["kind"],
                community_id=where["community_id"], community_name=where["community_name"],
                unit_id=where.get("unit_id"), unit_label=where.get("unit_label"),
                location=fields.get("location"), title=fields["title"].strip(),
                description=fields.get("description") or "", category=category,
                priority=fields.get("priority") or "normal", status="new",
                permission_to_enter=bool(fields.get("permission_to_enter")),
                entry_notes=fields.get("entry_notes"),
                preferred_times=list(fields.get("preferred_times") or []),
                reporter_type=reporter["type"], reporter_id=reporter["id"],
                reporter_name=reporter["name"], created_by_type=kind, created_by_id=actor_id,
                created_by_name=name, contact_email=reporter["email"],
                due_at=due_dates.due_at(now, fields.get("priority") or "normal",
                                        org_settings["response_targets_hours"]),
                created_at=now, updated_at=now)
            session.add(row)
            session.flush()
            activity.record(session, row.id, identity, "created",
                            {"kind": row.kind, "priority": row.priority,
                             "category": row.category}, at=now)
            announcing.created(uow, row, staff)
            return views.summary(caller, row, now)

        return idempotency.once(self.db, idempotency.caller_scope(caller), idempotency_key,
                                {"create_ticket": [fields]}, work)

    def _where(self, identity, caller, fields):
        """{community_id, community_name, unit_id, unit_label} of the new ticket."""
        kind = fields["kind"]
        if kind == "common_area":
            if not fields.get("location"):
                raise InvalidRequest("a common-area work order says where it is (Lobby, "
                                     "Pool...)", "location")
            for name in UNIT_ONLY:
                if fields.get(name):
                    raise InvalidRequest("belongs to unit work orders only", name)
            if fields.get("unit_id"):
                raise InvalidRequest("a common-area work order names no unit", "unit_id")
        if caller.is_resident:
            mine = caller.resident or {}
            if kind == "unit" and fields.get("unit_id") not in (None, mine.get("unit_id")):
                raise Forbidden("a resident reports work orders for their own unit only",
                                "unit_id")
            if fields.get("community_id") not in (None, mine.get("community_id")):
                raise Forbidden("a resident reports work orders for their own community "
                                "only", "community_id")
            if fields.get("reporter_resident_id"):
                raise Forbidden("only staff report on a resident's behalf",
                                "reporter_resident_id")
            community_id = mine.get("community_id")
            unit_id = mine.get("unit_id") if kind == "unit" else None
            if kind == "unit" and not unit_id:
                raise InvalidRequest("you live in no unit: report a common-area work order",
                                     "kind")
        elif kind == "unit":
            if not fields.get("unit_id"):
                raise InvalidRequest("a unit work order names its unit", "unit_id")
            unit_id = fields["unit_id"]
            community_id = None
        else:
            if not fields.get("community_id"):
                raise InvalidRequest("a common-area work order names its community",
                                     "community_id")
            community_id, unit_id = fields["community_id"], None
        unit = self.directory.get_unit(identity, unit_id) if unit_id else None
        if unit is not None:
            if community_id not in (None, unit["community_id"]):
                raise InvalidRequest(f"unit {unit_id} is not in community {community_id}",
                                     "unit_id")
            community_id = unit["community_id"]
        community = self.directory.get_community(identity, community_id)
        if not caller.is_resident:
            policy.require_manager(caller, community_id)
        return {"community_id": community_id, "community_name": community["name"],
                "unit_id": unit_id, "unit_label": unit and unit["label"]}

    def _reporter(self, identity, caller, fields, where):
        """{type, id, name, email} of whoever the work order is about."""
        given = fields.get("contact_email")
        if caller.is_resident:
            resident_id = caller.actor_id
        elif fields.get("reporter_resident_id"):
            resident_id = fields["reporter_resident_id"]
        else:
            return {"type": caller.actor_type, "id": caller.actor_id,
                    "name": identity.get("name"), "email": given}
        resident = self.directory.get_resident(identity, resident_id)
        if resident["community_id"] != where["community_id"] or (
                where.get("unit_id") and resident["unit_id"] != where["unit_id"]):
            place = "unit" if where.get("unit_id") else "community"
            raise InvalidRequest(f"resident {resident_id} does not live in this {place}",
                                 "reporter_resident_id")
        on_file = [cp["value"].lower() for cp in resident["contact_points"]
                   if cp["kind"] == "email"]
        email = given or resident.get("email")
        if email is None:
            raise InvalidRequest("there is no email address on file for "
                                 f"{'you' if caller.is_resident else resident['name']}: "
                                 "give contact_email so management can reach "
                                 f"{'you' if caller.is_resident else 'them'} about this work "
                                 "order", "contact_email")
        if given and given.lower() not in on_file and caller.is_resident:
            # the resident hears back through their own contact points: keep the new one
            self.directory.add_contact_point(identity, resident_id,
                                             {"kind": "email", "value": given})
        return {"type": "resident", "id": resident_id, "name": resident["name"],
                "email": email}


def _category(given, categories):
    category = (given or "other").strip().lower()
    if category not in categories:
        raise InvalidRequest(f"{category!r} is not one of this organization's categories: "
                             f"{', '.join(categories)}", "category")
    return category


def _next_number(session, organization_id):
    """The organization's next work order number. The UPDATE locks its row until the
    ticket's transaction ends (PostgreSQL; SQLite has one writer): no two share one."""
    table = TicketNumber.__table__
    insert_missing(session, table, [{"organization_id": organization_id, "last": 1000}])
    session.execute(update(table).where(table.c.organization_id == organization_id)
                    .values(last=table.c.last + 1))
    return session.scalar(select(table.c.last).where(table.c.organization_id ==
                                                     organization_id))
