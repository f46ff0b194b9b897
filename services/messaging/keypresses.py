"""A key pressed in a call's opt-out offer: the call is found by its provider id, and the
opt-out key in a call that offered it (an opt-out-enabled category) becomes one
`call_opt_out_received` for consent, with what the resident heard and pressed. Any other
key, or a call we do not know, changes nothing."""

import logging

from sqlalchemy import select

from contracts import voice_opt_out
from services.messaging.models import Communication, Delivery

log = logging.getLogger("townhall.messaging")


def apply(uow, keypress):
    session = uow.session
    delivery = session.scalars(select(Delivery).where(
        Delivery.provider_id == keypress["provider_id"], Delivery.channel == "voice")).first()
    if delivery is None:
        log.warning("a keypress for call %s, which no delivery made", keypress["provider_id"])
        return None
    if not voice_opt_out.pressed(keypress.get("digits")) or not delivery.unsubscribe_url:
        return None
    communication = session.get(Communication, delivery.communication_id)
    return uow.emit("call_opt_out_received", {
        "resident_id": delivery.resident_id, "category_id": communication.category_id,
        "delivery_id": delivery.id, "communication_id": communication.id,
        "call_sid": keypress["provider_id"], "digits": keypress["digits"],
        "speech": keypress.get("speech"), "prompt": voice_opt_out.prompt(delivery.language),
        "phone": delivery.address}, organization_id=communication.organization_id)
