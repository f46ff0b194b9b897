"""Who an audience is: the residents a communication's `recipients` names, as they are now.

The rules, in the order they apply:
1. `recipients` names any mix of communities (everyone living there), units (everyone living
   there), residents and saved groups (their residents, and everyone living in their units);
   any list may be left out or empty, but something must be named.
2. Every id named exists in the caller's organization; the first that does not (unknown, or
   another organization's) is not found, named by its field (`recipients.units`) and id.
3. A resident who has moved out (move_out on or before today) is never included; one moving
   out tomorrow still is.
4. `occupancy`, when given (`owner` or `tenant`), keeps only residents of that kind.
5. A resident named more than once (directly, through a unit, a community or a group) is one
   recipient: residents are selected once each, by a condition, never by concatenating lists.
6. Residents come in order of id, in pages of up to 1,000: one query per page, and one for
   the page's primary contact points.
"""

from dataclasses import dataclass

from marshmallow import ValidationError
from sqlalchemy import func, literal, or_, select, union_all

from contracts.directory_api import AudienceRequest
from contracts.errors import InvalidRequest, NotFound
from services.directory.models import (
    Community,
    ContactPoint,
    Group,
    GroupResident,
    GroupUnit,
    Resident,
    Unit,
)

KINDS = ("communities", "units", "residents", "groups")
SINGULAR = {"communities": "community", "units": "unit", "residents": "resident",
            "groups": "group"}
MAX_PAGE = 1000


@dataclass(frozen=True)
class Audience:
    communities: tuple = ()
    units: tuple = ()
    residents: tuple = ()
    groups: tuple = ()
    occupancy: str | None = None


def parse(recipients):
    """An Audience from the `recipients` of a request, each id once; InvalidRequest naming
    the field for a wrong shape or an audience that names nobody."""
    if not isinstance(recipients, dict):
        raise InvalidRequest("must be an object of communities, units, residents and groups",
                             "recipients")
    try:
        loaded = AudienceRequest().load(recipients)
    except ValidationError as exc:
        field = sorted(exc.messages)[0]
        raise InvalidRequest(f"{_first_message(exc.messages[field])}",
                             f"recipients.{field}") from None
    audience = Audience(*(tuple(dict.fromkeys(loaded.get(kind) or ())) for kind in KINDS),
                        occupancy=loaded.get("occupancy"))
    if not any(getattr(audience, kind) for kind in KINDS):
        raise InvalidRequest("names nobody: give at least one community, unit, resident or "
                             "group", "recipients")
    return audience


def _first_message(messages):
    while isinstance(messages, dict | list):
        messages = next(iter(messages.values())) if isinstance(messages, dict) else messages[0]
    return str(messages)


def page_limit(limit):
    if limit is None:
        return MAX_PAGE
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"must be a whole number from 1 to {MAX_PAGE}", "limit")
    return limit


def check_after(after):
    if after is not None and (not isinstance(after, str) or not 1 <= len(after) <= 64):
        raise InvalidRequest("must be the id of the last resident of the previous page",
                             "after")
    return after


# --- what the audience names ---------------------------------------------------------------

def named_query(audience, organization_id):
    """One query for every id the audience names that exists in the organization (in any,
    for the system caller: organization_id None): rows of (kind, id, community_id)."""
    def own(query, column):
        return query if organization_id is None else query.where(column == organization_id)

    parts = []
    if audience.communities:
        parts.append(own(select(literal("communities").label("kind"), Community.id.label("id"),
                                Community.id.label("community_id"))
                         .where(Community.id.in_(audience.communities)),
                         Community.organization_id))
    if audience.units:
        parts.append(own(select(literal("units"), Unit.id, Unit.community_id)
                         .join(Community, Community.id == Unit.community_id)
                         .where(Unit.id.in_(audience.units)), Community.organization_id))
    if audience.residents:
        parts.append(own(select(literal("residents"), Resident.id, Resident.community_id)
                         .where(Resident.id.in_(audience.residents)),
                         Resident.organization_id))
    if audience.groups:
        parts.append(own(select(literal("groups"), Group.id, Group.community_id)
                         .where(Group.id.in_(audience.groups)), Group.organization_id))
    return parts[0] if len(parts) == 1 else union_all(*parts)


def communities_named(audience, found):
    """The sorted ids of the communities the audience touches, from the rows of named_query;
    NotFound for the first id named that is not among them."""
    seen = {kind: {} for kind in KINDS}
    for kind, object_id, community_id in found:
        seen[kind][object_id] = community_id
    for kind in KINDS:
        for object_id in getattr(audience, kind):
            if object_id not in seen[kind]:
                raise NotFound(f"{SINGULAR[kind]} {object_id} does not exist",
                               f"recipients.{kind}")
    return sorted({c for ids in seen.values() for c in ids.values()})


def check_named(session, audience, organization_id):
    return communities_named(audience, session.execute(named_query(audience,
                                                                   organization_id)).all())


# --- who the audience is -----------------------------------------------------------------

def who(audience, organization_id, today):
    """The conditions a resident meets to be in the audience today."""
    named = []
    if audience.communities:
        named.append(Resident.community_id.in_(audience.communities))
    if audience.units:
        named.append(Resident.unit_id.in_(audience.units))
    if audience.residents:
        named.append(Resident.id.in_(audience.residents))
    if audience.groups:
        named.append(Resident.id.in_(select(GroupResident.resident_id)
                                     .where(GroupResident.group_id.in_(audience.groups))))
        named.append(Resident.unit_id.in_(select(GroupUnit.unit_id)
                                          .where(GroupUnit.group_id.in_(audience.groups))))
    conditions = [or_(*named), or_(Resident.move_out.is_(None), Resident.move_out > today)]
    if organization_id is not None:
        conditions.append(Resident.organization_id == organization_id)
    if audience.occupancy:
        conditions.append(Resident.kind == audience.occupancy)
    return conditions


def size_query(audience, organization_id, today):
    return select(func.count(Resident.id)).where(*who(audience, organization_id, today))


def page_query(audience, organization_id, today, after, limit):
    """One page of residents in order of id, one row more than the page to tell whether
    another follows."""
    query = select(Resident.id, Resident.community_id, Resident.unit_id, Resident.kind,
                   Resident.language, Resident.name).where(*who(audience, organization_id,
                                                                today))
    if after is not None:
        query = query.where(Resident.id > after)
    return query.order_by(Resident.id).limit(limit + 1)


def contacts_query(resident_ids):
    return (select(ContactPoint.resident_id, ContactPoint.kind, ContactPoint.value)
            .where(ContactPoint.resident_id.in_(resident_ids),
                   ContactPoint.is_primary.is_(True))
            .order_by(ContactPoint.created_at.desc()))


def page(rows, contacts, limit):
    """{"residents", "next"} from page_query's rows and contacts_query's: `next` is the last
    id of this page when another follows, None when this page is the last."""
    primary = {}
    for resident_id, kind, value in contacts:   # newest first: the oldest primary wins
        primary[(resident_id, kind)] = value
    residents = [{"id": r.id, "community_id": r.community_id, "unit_id": r.unit_id,
                  "kind": r.kind, "language": r.language, "name": r.name,
                  "phone": primary.get((r.id, "phone")),
                  "email": primary.get((r.id, "email"))} for r in rows[:limit]]
    return {"residents": residents,
            "next": residents[-1]["id"] if len(rows) > limit else None}


def resolve_page(session, audience, organization_id, today, after, limit):
    rows = session.execute(page_query(audience, organization_id, today, after, limit)).all()
    contacts = session.execute(contacts_query([r.id for r in rows[:limit]])).all() \
        if rows else []
    return page(rows, contacts, limit)


def scope(session, audience, organization_id, today):
    """{communities (sorted ids), size (distinct residents living there today), timezones
    (each community's: what quiet hours are counted in)}."""
    communities = check_named(session, audience, organization_id)
    size = session.scalar(size_query(audience, organization_id, today))
    zones = dict(session.execute(select(Community.id, Community.timezone).where(
        Community.id.in_(communities))).all())
    return {"communities": communities, "size": size, "timezones": zones}
