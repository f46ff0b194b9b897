"""A resident who pressed the opt-out key in a call (messaging's `call_opt_out_received`)
withdraws consent to calls of that category: one act in the consent log, recorded by the
resident, with the call as evidence — its sid, the key pressed, any words spoken and the
offer they heard. It takes effect at once, like every withdrawal; the event is recorded
once however often it is delivered (the consumer dedupes it)."""

from servicekit.access import new_id
from services.consent.models import ConsentEvent

METHOD = "call_keypress"


def record(uow, organization_id, data):
    session = uow.session
    evidence = {"call_sid": data["call_sid"], "digits": data["digits"],
                "speech": data.get("speech"), "words_shown": data["prompt"],
                "phone": data.get("phone"), "delivery_id": data["delivery_id"],
                "communication_id": data["communication_id"], "source": "voice_call"}
    row = ConsentEvent(id=new_id("cev"), organization_id=organization_id,
                       resident_id=data["resident_id"], category_id=data["category_id"],
                       channel="voice", action="withdraw", method=METHOD,
                       recorded_by=f"resident:{data['resident_id']}", evidence=evidence)
    session.add(row)
    uow.emit("consent_recorded", {"resident_id": data["resident_id"], "channel": "voice",
                                  "category_id": data["category_id"], "action": "withdraw",
                                  "method": METHOD}, organization_id=organization_id)
    return row.id

