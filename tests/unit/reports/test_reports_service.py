"""reports builds exact counts from events, whatever their order or repetition."""

from nameko.testing.services import worker_factory

from contracts.events import envelope
from servicekit.testing import memory_database
from services.reports.models import Base
from services.reports.service import ReportsService

ME = {"actor_type": "api_key", "actor_id": "key_1", "organization_id": "org_1",
      "permissions": ["view_reports"]}


def update(delivery_id, status, community="com_1", org="org_1"):
    return envelope("deliveries_updated", {
        "communication_id": "cmm_1", "community_id": community,
        "items": [{"delivery_id": delivery_id, "resident_id": "res_1", "channel": "sms",
                   "status": status, "previous_status": None, "reason": None,
                   "error_code": None, "credits": 1, "hold_id": None}]},
        organization_id=org)


def test_counts_are_exact_with_out_of_order_and_repeated_events():
    reports = worker_factory(ReportsService, db=memory_database(Base), config={})
    delivered = update("dlv_1", "delivered")
    for event in [update("dlv_1", "queued"), delivered, update("dlv_1", "sent"), delivered,
                  update("dlv_2", "queued"), update("dlv_3", "suppressed")]:
        reports.record_deliveries(event)
    assert reports.delivery_counts(ME, "com_1") == {
        "community_id": "com_1", "counts": {"delivered": 1, "queued": 1, "suppressed": 1},
        "total": 3}


def test_another_organizations_figures_are_invisible():
    reports = worker_factory(ReportsService, db=memory_database(Base), config={})
    reports.record_deliveries(update("dlv_9", "delivered", org="org_2"))
    assert reports.delivery_counts(ME, "com_1")["total"] == 0
