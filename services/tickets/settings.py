"""Ticket settings: the organization's (categories, response targets per priority, who may
reopen a completed ticket) and each community's (who is told of what, the header of its
work order emails, whether residents may comment, how a resident reporter hears back).

Mixed into TicketsService. Every signed-in caller of the organization reads the
organization's settings (residents need its categories to report); staff who see a
community read its settings. Changing the organization's needs `manage_tickets` for the
whole organization (master users); a community's needs `manage_tickets` there. Until set,
each answers its defaults.
"""

from contracts.errors import Forbidden, InvalidRequest
from contracts.vocabulary import DEFAULT_TICKET_CATEGORIES
from servicekit.access import EVERYWHERE, Caller, system_of
from servicekit.db import utcnow
from servicekit.entrypoints import rpc
from services.tickets import due_dates, notifying
from services.tickets.models import CommunityTicketSettings, OrganizationTicketSettings

ORGANIZATION_FIELDS = ("categories", "response_targets_hours", "reopen_completed")
COMMUNITY_FIELDS = ("residents_may_comment", "email_header", "notify", "reporter_channels")


class Settings:
    @rpc
    def get_settings(self, identity):
        caller = Caller.of(identity)
        with self.db.read() as session:
            return organization_view(caller.organization_id,
                                     session.get(OrganizationTicketSettings,
                                                 caller.organization_id))

    @rpc
    def update_settings(self, identity, fields):
        caller = Caller.of(identity)
        if caller.is_resident or (not caller.is_system
                                  and caller.scopes.get("manage_tickets") != EVERYWHERE):
            raise Forbidden("changing the organization's ticket settings needs "
                            "'manage_tickets' for the whole organization", "permission")
        unknown = set(fields) - set(ORGANIZATION_FIELDS)
        if unknown:
            raise InvalidRequest("is not a ticket setting", sorted(unknown)[0])
        with self.db.unit_of_work() as uow:
            row = uow.session.get(OrganizationTicketSettings, caller.organization_id)
            if row is None:
                row = OrganizationTicketSettings(organization_id=caller.organization_id)
                uow.session.add(row)
            if "categories" in fields:
                row.categories = _categories(fields["categories"])
            if "response_targets_hours" in fields:
                row.response_targets_hours = {**(row.response_targets_hours or {}),
                                              **fields["response_targets_hours"]}
            if "reopen_completed" in fields:
                row.reopen_completed = fields["reopen_completed"]
            row.updated_at, row.updated_by = utcnow(), caller.actor_id
            uow.session.flush()
            return organization_view(caller.organization_id, row)

    @rpc
    def get_community_settings(self, identity, community_id):
        caller = Caller.of(identity)
        community = self._community_for_settings(identity, caller, community_id)
        with self.db.read() as session:
            return community_view(community_id,
                                  session.get(CommunityTicketSettings, community["id"]))

    @rpc
    def update_community_settings(self, identity, community_id, fields):
        caller = Caller.of(identity)
        community = self._community_for_settings(identity, caller, community_id)
        if not caller.may("manage_tickets", community_id):
            raise Forbidden(f"changing a community's ticket settings needs 'manage_tickets' "
                            f"for community {community_id}", "permission")
        unknown = set(fields) - set(COMMUNITY_FIELDS)
        if unknown:
            raise InvalidRequest("is not a community ticket setting", sorted(unknown)[0])
        if "notify" in fields:
            _check_named_staff(self.directory, caller, community_id, fields["notify"])
        with self.db.unit_of_work() as uow:
            row = uow.session.get(CommunityTicketSettings, community_id)
            if row is None:
                row = CommunityTicketSettings(community_id=community_id,
                                              organization_id=community["organization_id"],
                                              notify={}, reporter_channels=["email"])
                uow.session.add(row)
            for name in COMMUNITY_FIELDS:
                if name == "notify" and name in fields:
                    row.notify = {**(row.notify or {}), **fields["notify"]}
                elif name in fields:
                    setattr(row, name, fields[name])
            if row.email_header is not None and not row.email_header.strip():
                row.email_header = None
            row.updated_at, row.updated_by = utcnow(), caller.actor_id
            uow.session.flush()
            return community_view(community_id, row)

    def _community_for_settings(self, identity, caller, community_id):
        if caller.is_resident:
            raise Forbidden("residents do not see ticket settings", "actor_type")
        return self.directory.get_community(identity, community_id)


def _categories(names):
    cleaned = list(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    if not cleaned:
        raise InvalidRequest("name at least one category", "categories")
    return cleaned


def _check_named_staff(directory, caller, community_id, notify):
    """Named staff must be of the organization (else a 422 naming the id)."""
    named = {i for rule in notify.values() for i in (rule or {}).get("staff_user_ids") or ()}
    if not named:
        return
    found = directory.staff_contacts(system_identity(caller.organization_id), community_id,
                                     staff_user_ids=sorted(named))
    missing = named - {s["id"] for s in found["staff"]}
    if missing:
        raise InvalidRequest(f"staff user {sorted(missing)[0]} is not a staff user of this "
                             "organization", "notify.staff_user_ids")


def system_identity(organization_id):
    """tickets acting on its own account for one organization (finding whom to notify)."""
    return system_of(organization_id, "tickets")


def organization_view(organization_id, row):
    return {"organization_id": organization_id,
            "categories": list((row and row.categories) or DEFAULT_TICKET_CATEGORIES),
            "response_targets_hours": due_dates.targets(row and row.response_targets_hours),
            "reopen_completed": (row and row.reopen_completed) or "staff",
            "updated_at": row.updated_at.isoformat() if row and row.updated_at else None}


def community_view(community_id, row):
    notify = (row and row.notify) or {}
    return {"community_id": community_id,
            "residents_may_comment": True if row is None else row.residents_may_comment,
            "email_header": row and row.email_header,
            "notify": {occasion: {"roles": list(notifying.staff_rule(
                notifying.Settings(notify=notify), occasion)[0]),
                "staff_user_ids": list((notify.get(occasion) or {}).get("staff_user_ids")
                                       or [])}
                for occasion in ("created", "resident_commented")},
            "reporter_channels": list((row and row.reporter_channels) or ["email"]),
            "updated_at": row.updated_at.isoformat() if row and row.updated_at else None}


def notice_settings(row):
    """What notifying needs of a community's settings (its defaults when unset)."""
    if row is None:
        return notifying.Settings()
    return notifying.Settings(email_header=row.email_header,
                              reporter_channels=tuple(row.reporter_channels or ("email",)),
                              notify=row.notify or {})
