"""Provider webhooks are only believed when their signature is right."""

from twilio.request_validator import RequestValidator

from contracts.errors import Forbidden

SIGNATURE_HEADER = "X-Twilio-Signature"


def verify_twilio(request, auth_token, public_url):
    """Twilio signs the full URL it called plus the POSTed form fields."""
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        raise Forbidden(f"the {SIGNATURE_HEADER} header is missing", SIGNATURE_HEADER)
    url = public_url.rstrip("/") + request.full_path.rstrip("?")
    params = request.form.to_dict()
    if not RequestValidator(auth_token).validate(url, params, signature):
        raise Forbidden(f"the {SIGNATURE_HEADER} signature does not match", SIGNATURE_HEADER)
    return params
