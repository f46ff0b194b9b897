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

    @api("POST", "/v1/consent/categories/<string:category_id>/consent-imports",
         body="upload", query=schemas.ConsentImportQuery, answer=schemas.ConsentImportView,
         errors=(403, 404, 422), idempotency_key="accepted", description=(
             "Columns: resident_id, channel (sms, email, voice), action (grant, withdraw), "
             "obtained_at (YYYY-MM-DD or an ISO date and time, not in the future), wording "
             "(the words the resident agreed to, up to 1000 characters) are required; "
             "address (the phone or email it concerns) and source (e.g. paper form 2024) are "
             "optional. Every row is checked first; a file with any error imports nothing "
             "and the 422 names up to 50 errors by line, column and rule. A good file is "
             "appended in one transaction, in file order, method import. At most 20,000 rows "
             "and 5 MiB."))
    def import_consents(self, request, category_id):
        """Import consent collected before Townhall from a CSV file
        (manage_consent_categories)."""
        identity = self._authenticate(request)
        query = schemas.ConsentImportQuery().load(request.args.to_dict())
        data, filename = csv_upload(request, CONSENT_IMPORT_MAX_BYTES)
        imported = self.consent_imports.import_consents(
            identity, category_id, base64.b64encode(data).decode(),
            filename=query.get("filename") or filename,
            idempotency_key=idempotency_key(request))
        return schemas.ConsentImportView().dump(imported)
