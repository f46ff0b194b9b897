"""directory's object-level rules, on top of the shared Caller policy: another organization's
object is not found, an object of the caller's own organization that the caller may not touch
is forbidden and the message names the permission."""

from contracts.errors import Forbidden, NotFound
from servicekit.access import EVERYWHERE, Caller
from services.directory.models import Community

MASTER_ONLY = "only master users (manage_directory for the whole organization) may do this"


def master(identity):
    """Master users hold manage_directory for the whole organization."""
    caller = Caller.of(identity)
    if not caller.is_system and caller.scopes.get("manage_directory") != EVERYWHERE:
        raise Forbidden(MASTER_ONLY, "permission")
    return caller


def staff_only(caller, what):
    if caller.is_resident:
        raise Forbidden(f"residents do not see {what}", "actor_type")


def sees_office(caller, community_ids):
    """Staff see an office where they hold a permission for one of its communities."""
    if caller.is_resident:
        return False
    visible = caller.communities()
    return visible == EVERYWHERE or bool(set(visible) & set(community_ids))


def owned(session, caller, model, object_id, what, field):
    """The row of `model` with that id, if it belongs to the caller's organization; otherwise
    NotFound, so another organization's objects do not exist for the caller."""
    row = session.get(model, object_id) if object_id else None
    if row is None or not caller.owns(row.organization_id):
        raise NotFound(f"{what} {object_id} does not exist", field)
    return row


def community(session, caller, community_id, field="community_id"):
    row = session.get(Community, community_id) if community_id else None
    if row is None:
        raise NotFound(f"community {community_id} does not exist", field)
    caller.check_owner(row.organization_id, "community", community_id)
    return row


def community_for_reading(session, caller, community_id, field="community_id"):
    row = community(session, caller, community_id, field)
    if not caller.sees_community(community_id):
        raise Forbidden(f"this caller holds no permission for community {community_id}", field)
    return row


def community_for_change(session, caller, community_id, field="community_id"):
    row = community(session, caller, community_id, field)
    caller.require("manage_directory", community_id)
    return row


def may_see_resident(caller, row):
    if caller.is_resident:
        if caller.resident.get("unit_id") != row.unit_id:
            raise Forbidden("residents see only the residents of their own unit", "resident_id")
        return
    if not caller.sees_community(row.community_id):
        raise Forbidden(f"this caller holds no permission for community {row.community_id}",
                        "resident_id")


def may_change_contact_points(caller, row):
    """A resident keeps their own phones and emails; staff need manage_directory there."""
    if caller.is_resident and caller.actor_id == row.id:
        return
    if caller.is_resident:
        raise Forbidden("residents change only their own contact points", "resident_id")
    caller.require("manage_directory", row.community_id)
