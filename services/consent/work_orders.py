"""The built-in "Work orders" category: what every work-order notice to a resident is sent
under (seed 003; DESIGN: work-order notices are business transactions).

Used by the Categories mixin (`work_order_category` and the checks on every change). The
rules:
1. Each organization has exactly one, made the first time anybody of the organization asks
   for it (`work_order_category`) — also when two ask at once: a unique (organization,
   system key) lets one insert win, and the other reads what it made.
2. It is transactional (no consent needed, no unsubscribe link: rules.decide still honours
   a resident's channel preferences and STOP), `opt_in`, without opt-out.
3. It is read like any category. Master users (manage_consent_categories for the whole
   organization) may rename it or name its teams; nobody makes it non-transactional,
   changes its mode or opt-out (a 422 naming the field), archives or deletes it (a 409).
"""

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from contracts.errors import Conflict, Forbidden, InvalidRequest
from servicekit.access import EVERYWHERE, new_id
from services.consent.models import Category, CategoryChange

WORK_ORDERS = "work_orders"
NAME = "Work orders"
DEFINITION = {"type": "message", "mode": "opt_in", "opt_out_enabled": False,
              "transactional": True}
FIXED = ("mode", "opt_out_enabled", "transactional")


def find_or_create(db, caller, view):
    """`view` of the organization's built-in category, made now when it has none."""
    if not caller.organization_id:
        raise InvalidRequest("the work-order category is an organization's: this identity "
                             "names none", "organization_id")
    with db.read() as session:
        row = _built_in(session, caller.organization_id)
        if row is not None:
            return view(row)
    try:
        with db.unit_of_work() as uow:
            return view(_create(uow.session, caller))
    except IntegrityError:
        # another first call made it a moment ago: answer that one
        with db.read() as session:
            row = _built_in(session, caller.organization_id)
            if row is None:
                raise
            return view(row)


def check_change(caller, row, fields):
    """Refuse what the built-in category may not become (nothing for other categories)."""
    if row.system_key is None:
        return
    if not caller.is_system and caller.scopes.get("manage_consent_categories") != EVERYWHERE:
        raise Forbidden("only master users (manage_consent_categories for the whole "
                        "organization) change the built-in work-order category", "permission")
    for name in FIXED:
        if name in fields and fields[name] != getattr(row, name):
            raise InvalidRequest(f"the built-in work-order category keeps {name} "
                                 f"{getattr(row, name)!r}: work-order notices are business "
                                 "transactions", name)


def check_kept(row, action):
    """The built-in category is neither archived nor deleted: notices are sent under it."""
    if row.system_key is not None:
        raise Conflict(f"category {row.id} is the built-in work-order category; it cannot "
                       f"be {action} (it may be renamed)", "category_id")


def _built_in(session, organization_id):
    return session.scalars(select(Category).where(
        Category.organization_id == organization_id,
        Category.system_key == WORK_ORDERS)).first()


def _create(session, caller):
    organization_id = caller.organization_id
    row = Category(id=new_id("cat"), organization_id=organization_id, system_key=WORK_ORDERS,
                   name=_free_name(session, organization_id), access_team_ids=[],
                   response_team_ids=[], **DEFINITION)
    session.add(row)
    session.flush()
    session.add(CategoryChange(
        category_id=row.id, organization_id=organization_id, actor=caller.actor_id,
        action="created", changes={k: [None, v] for k, v in
                                   dict(DEFINITION, name=row.name).items()}))
    return row


def _free_name(session, organization_id):
    """"Work orders", or "Work orders (2)", … when a category of the organization's own
    already has that name (names are unique without case)."""
    taken = set(session.scalars(select(func.lower(Category.name)).where(
        Category.organization_id == organization_id,
        func.lower(Category.name).like(f"{NAME.lower()}%"))))
    for n in range(1, 1000):
        name = NAME if n == 1 else f"{NAME} ({n})"
        if name.lower() not in taken:
            return name
    raise Conflict(f"every name from {NAME!r} to {NAME!r} (999) is taken", "name")
