"""Twilio's webhooks of calls (X-Twilio-Signature checked, answered at once, applied later
by messaging): a call's status callbacks, and the key a resident pressed in its opt-out
offer. Mixed into GatewayService."""

from werkzeug.wrappers import Response

from contracts import voice_opt_out
from contracts.errors import InvalidRequest
from contracts.events import envelope
from contracts.vocabulary import UNREACHED_CALL_STATUSES
from gateway.declaration import XML
from gateway.http import api
from gateway.webhooks import verify_twilio
from servicekit.tracing import current_correlation_id

SIGNED_BY_TWILIO = {"X-Twilio-Signature": "Twilio's signature of the public URL and the form "
                                          "fields (HMAC-SHA1 with the auth token)"}
CALL_STATUS_FORM = {"type": "object", "required": ["CallSid", "CallStatus"], "properties": {
    "CallSid": {"type": "string"}, "CallStatus": {"type": "string"},
    "CallDuration": {"type": "string", "description": "seconds, on the final status"},
    "AnsweredBy": {"type": "string"}}}
GATHER_FORM = {"type": "object", "required": ["CallSid"], "properties": {
    "CallSid": {"type": "string"}, "Digits": {"type": "string"},
    "SpeechResult": {"type": "string"}, "To": {"type": "string"}}}


class CallWebhooks:
    @api("POST", "/webhooks/twilio/call-status", body="form", public=True,
         request=CALL_STATUS_FORM, request_headers=SIGNED_BY_TWILIO, status=204,
         answer_description="accepted", errors=(403, 422))
    def twilio_call_status(self, request):
        """Twilio call status callback: initiated, ringing, answered (in-progress) and the
        final one with CallDuration; acknowledged at once, applied by messaging."""
        params = self._twilio_form(request)
        sid, status = params.get("CallSid"), params.get("CallStatus")
        if not sid or not status:
            raise InvalidRequest("CallSid and CallStatus are required", "CallSid")
        duration = params.get("CallDuration")
        if duration not in (None, "") and not duration.isdigit():
            raise InvalidRequest("CallDuration must be whole seconds", "CallDuration")
        self.status_batches.add(self.events, {
            "provider": "twilio", "provider_id": sid, "status": status,
            "error_code": status if status in UNREACHED_CALL_STATUSES else None,
            "duration_seconds": int(duration) if duration else None},
            correlation_id=current_correlation_id())
        return Response(status=204)

    @api("POST", "/webhooks/twilio/gather", body="form", public=True, request=GATHER_FORM,
         request_headers=SIGNED_BY_TWILIO, answer=XML,
         answer_description="TwiML: a confirmation when the opt-out key was pressed",
         errors=(403, 422))
    def twilio_gather(self, request):
        """The key a resident pressed in a call's opt-out offer: handed on to messaging,
        which knows the call's resident and category; answered with TwiML at once."""
        params = self._twilio_form(request)
        if not params.get("CallSid"):
            raise InvalidRequest("CallSid is required", "CallSid")
        digits = params.get("Digits") or None
        self.events.publish(envelope("call_keypress_received", {
            "provider": "twilio", "provider_id": params["CallSid"], "digits": digits,
            "speech": params.get("SpeechResult") or None, "to_number": params.get("To")},
            correlation_id=current_correlation_id()))
        return Response(voice_opt_out.answer(digits), status=200, mimetype="text/xml")

    def _twilio_form(self, request):
        twilio = self.config["twilio"]
        return verify_twilio(request, twilio["auth_token"], self.config["gateway"]["public_url"])
