"""Provider webhooks are only believed when their signature is right."""

from twilio.request_validator import RequestValidator, compare

from contracts.errors import Forbidden

SIGNATURE_HEADER = "X-Twilio-Signature"


def verify_twilio(request, auth_token, public_url):
    """Twilio signs the full URL it called plus the POSTed form fields."""
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        raise Forbidden(f"the {SIGNATURE_HEADER} header is missing", SIGNATURE_HEADER)
    url = public_url.rstrip("/") + request.full_path.rstrip("?")
    params = request.form.to_dict()
    validator = RequestValidator(auth_token)
    # the URL as we publish it is one of the two forms (with and without the port) the
    # library tries: checked first, it spares a second HMAC on every callback
    if compare(validator.compute_signature(url, params), signature):
        return params
    if not validator.validate(url, params, signature):
        raise Forbidden(f"the {SIGNATURE_HEADER} signature does not match", SIGNATURE_HEADER)
    return params
