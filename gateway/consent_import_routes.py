"""Importing consent collected before Townhall, over HTTP. Mixed into GatewayService: the
gateway reads the upload the way resident imports do (the CSV as the body, or the `file`
field of a form) and hands it to consent, which checks who may import it, every row, and
appends all of it or nothing."""

import base64

from contracts import consent_api as schemas
from contracts.consent_api import CONSENT_IMPORT_MAX_BYTES
from gateway.http import api, csv_upload, idempotency_key
from servicekit.providers import Rpc

# a file of the largest size is checked and written in one call: more than a look-up takes
IMPORT_TIMEOUT = 120


class ConsentImportRoutes:
    consent_imports = Rpc("consent", timeout=IMPORT_TIMEOUT)

    @api("POST", "/v1/consent/categories/<string:category_id>/consent-imports")
    def import_consents(self, request, category_id):
        identity = self._authenticate(request)
        query = schemas.ConsentImportQuery().load(request.args.to_dict())
        data, filename = csv_upload(request, CONSENT_IMPORT_MAX_BYTES)
        imported = self.consent_imports.import_consents(
            identity, category_id, base64.b64encode(data).decode(),
            filename=query.get("filename") or filename,
            idempotency_key=idempotency_key(request))
        return schemas.ConsentImportView().dump(imported)
