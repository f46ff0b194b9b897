"""The built-in "Work orders" category with worker_factory and an in-memory database: made
once per organization on first use (also when two first calls race), transactional, read
like any category, renamed by master users only, and never made something else, archived
or deleted."""

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select

from contracts.errors import Conflict, Forbidden, InvalidRequest, NotFound
from servicekit.access import SYSTEM, system_of
from servicekit.testing import memory_database
from services.consent import work_orders
from services.consent.models import Base, Category
from services.consent.service import ConsentService

ORG = "org_1"
MASTER = {"actor_type": "staff", "actor_id": "usr_1", "organization_id": ORG,
          "scopes": {"manage_consent_categories": "*", "send_communications": "*"}}
OFFICE_MANAGER = {"actor_type": "staff", "actor_id": "usr_2", "organization_id": ORG,
                  "scopes": {"manage_consent_categories": ["com_1"]}}
SENDER = {"actor_type": "staff", "actor_id": "usr_3", "organization_id": ORG,
          "scopes": {"send_communications": "*"}}
TICKETS = system_of(ORG, "tickets")
STRANGER = dict(MASTER, organization_id="org_2", actor_id="usr_9")


@pytest.fixture
def consent():
    return worker_factory(ConsentService, db=memory_database(Base), config={})


def rows(consent, organization_id=ORG):
    with consent.db.read() as session:
        return session.scalars(select(Category).where(
            Category.organization_id == organization_id)).all()


def test_it_is_made_on_first_use_once_per_organization_and_transactional(consent):
    made = consent.work_order_category(TICKETS)
    assert made["id"].startswith("cat_") and made["organization_id"] == ORG
    assert {k: made[k] for k in ("name", "type", "mode", "opt_out_enabled", "transactional",
                                 "archived", "built_in", "used_count")} == {
        "name": "Work orders", "type": "message", "mode": "opt_in", "opt_out_enabled": False,
        "transactional": True, "archived": False, "built_in": True, "used_count": 0}
    assert consent.work_order_category(SENDER) == made         # any caller of ORG: the same
    assert consent.work_order_category(TICKETS) == made
    assert consent.get_category(SENDER, made["id"]) == made    # read like any category
    assert [c["id"] for c in consent.list_categories(SENDER)["items"]] == [made["id"]]
    assert len(rows(consent)) == 1
    other = consent.work_order_category(STRANGER)               # another organization's own
    assert other["id"] != made["id"] and other["organization_id"] == "org_2"
    log = consent.category_changes(MASTER, made["id"])["items"]
    assert [(e["action"], e["actor"]) for e in log] == [("created", "tickets")]


def test_two_first_calls_at_once_make_one_and_both_answer_it(consent, monkeypatch):
    # the other call inserted between this one's look and its insert: the unique
    # (organization, system key) refuses the second row, which then reads the first
    first = consent.work_order_category(TICKETS)
    looked = []

    def missed_it(session, organization_id):
        looked.append(organization_id)
        return None if len(looked) == 1 else real(session, organization_id)

    real = work_orders._built_in
    monkeypatch.setattr(work_orders, "_built_in", missed_it)
    assert consent.work_order_category(SENDER) == first
    assert len(looked) == 2 and len(rows(consent)) == 1


def test_an_organizations_own_category_named_work_orders_keeps_its_name(consent):
    own = consent.create_category(MASTER, ORG, "work ORDERS", "request")
    made = consent.work_order_category(TICKETS)
    assert made["id"] != own["id"] and made["name"] == "Work orders (2)"
    assert consent.get_category(MASTER, own["id"])["built_in"] is False


def test_the_system_of_no_organization_is_refused_naming_the_field(consent):
    with pytest.raises(InvalidRequest) as refused:
        consent.work_order_category(SYSTEM)
    assert refused.value.field == "organization_id"


def test_master_users_rename_it_and_name_its_teams_but_nobody_makes_it_another_kind(consent):
    made = consent.work_order_category(TICKETS)
    renamed = consent.update_category(MASTER, made["id"], {"name": "Maintenance requests",
                                                           "transactional": True})
    assert renamed["name"] == "Maintenance requests" and renamed["transactional"] is True
    assert consent.work_order_category(TICKETS)["name"] == "Maintenance requests"
    for field, value in (("transactional", False), ("mode", "request"),
                         ("opt_out_enabled", True)):
        with pytest.raises(InvalidRequest, match=field) as refused:
            consent.update_category(MASTER, made["id"], {"name": "Other", field: value})
        assert refused.value.field == field
    with pytest.raises(Forbidden, match="master users"):
        consent.update_category(OFFICE_MANAGER, made["id"], {"name": "Mine"})
    with pytest.raises(Forbidden, match="manage_consent_categories"):
        consent.update_category(SENDER, made["id"], {"name": "Mine"})
    with pytest.raises(NotFound):
        consent.update_category(STRANGER, made["id"], {"name": "Theirs"})
    assert consent.get_category(MASTER, made["id"]) == dict(
        renamed, updated_at=consent.get_category(MASTER, made["id"])["updated_at"])


def test_it_is_never_archived_or_deleted(consent):
    made = consent.work_order_category(TICKETS)
    for action, attempt in (("archived", consent.archive_category),
                            ("deleted", consent.delete_category)):
        with pytest.raises(Conflict, match=f"built-in work-order category; it cannot be "
                                           f"{action}") as refused:
            attempt(MASTER, made["id"])
        assert refused.value.field == "category_id"
    assert consent.archive_category(MASTER, made["id"], archived=False)["archived"] is False
    assert consent.get_category(MASTER, made["id"])["archived"] is False


def test_notices_under_it_need_no_consent_but_channel_preferences_still_apply(consent):
    category = consent.work_order_category(TICKETS)["id"]
    # Ivy withdrew from the category by email (as if it were any other); Jon turned email off
    consent.record(MASTER, "res_ivy", "email", "withdraw", "staff_on_behalf",
                   category_id=category)
    consent.record(MASTER, "res_jon", "email", "withdraw", "resident_portal")
    decisions = consent.check(TICKETS, category, "email", [
        {"resident_id": r, "has_contact_point": True, "address": f"{r}@example.com"}
        for r in ("res_ivy", "res_jon", "res_kay")])
    assert [(d["resident_id"], d["allowed"], d["reason"]) for d in decisions] == [
        ("res_ivy", True, None), ("res_jon", False, "channel_preference_off"),
        ("res_kay", True, None)]
    assert consent.unsubscribe_links(TICKETS, category, "email", [
        {"resident_id": "res_kay", "address": "res_kay@example.com"}]) == {}
