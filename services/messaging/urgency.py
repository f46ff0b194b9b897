"""An emergency goes ahead of ordinary sends at every step, not only at the last one.

1. Each step's work travels on an event; an emergency's travels on that event's urgent
   twin (`event_type`): audience pages (`urgent_audience_page_requested`, its first page
   too, beside the public `communication_accepted`), batches to check and pay for
   (`urgent_deliveries_created`) and batches to hand to the provider
   (`urgent_deliveries_queued`).
2. The twins have a consumer of their own in every messaging process (UrgentService,
   urgent_service.py) with workers and provider call slots of its own: urgent work waits
   behind no ordinary page, batch or call already queued or running — only behind other
   urgent work.
3. The sender's segment budget and the account's call rate are taken by an emergency's
   batch first, and ordinary batches hold back while it waits for tokens (rate_limit rule
   6); the release timer hands on an emergency's waiting deliveries before ordinary ones
   (dispatching.release_due).
"""

URGENT_TWINS = {
    "audience_page_requested": "urgent_audience_page_requested",
    "deliveries_created": "urgent_deliveries_created",
    "deliveries_queued": "urgent_deliveries_queued",
}


def event_type(step, emergency):
    """The event a step's work travels on: its urgent twin for an emergency."""
    return URGENT_TWINS[step] if emergency else step


def emit_accepted(uow, communication, data):
    """`communication_accepted` (the public fact, whose consumer resolves an ordinary
    send's first page); an emergency's first page is asked for on its urgent twin."""
    uow.emit("communication_accepted", data, organization_id=communication.organization_id)
    if communication.emergency:
        uow.emit(event_type("audience_page_requested", True), {
            "communication_id": communication.id, "page": 1, "after": None},
            organization_id=communication.organization_id)
