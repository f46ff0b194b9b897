"""Documents: upload one to send (kind `document`), read it back, and the public page a
recipient's own link opens (no login: the signed token is the authority; messaging checks
it). Mixed into GatewayService."""

import base64
from html import escape

from werkzeug.wrappers import Response

from contracts import communication_api as schemas
from contracts import documents
from contracts.errors import DomainError
from gateway.consent_request_routes import LINK_PROBLEMS
from gateway.declaration import HTML
from gateway.http import (
    api,
    document_upload,
    download_disposition,
    idempotency_key,
    json_response,
)
from gateway.pages import HEADERS, link_problem, page

TOKEN = {"token": "the signed token from the text or call"}
EXPIRED_ADVICE = "Ask the management office to send the document again."
FILE = tuple(documents.ACCEPTED)      # the media type its content says


class DocumentRoutes:
    @api("POST", "/v1/documents", body="upload", request=FILE, query=schemas.DocumentQuery,
         answer=schemas.DocumentView, status=201, location=True,
         errors=(403, 413, 422), idempotency_key="accepted",
         description="A PDF or an image (PNG, JPEG, GIF, WebP) of at most 10 MB, as the "
                     "`file` field of multipart/form-data or as the raw body; its kind is "
                     "decided by its content, not by its name or declared type.")
    def upload_document(self, request):
        """Upload a document to send (send_communications)."""
        identity = self._authenticate(request)
        query = schemas.DocumentQuery().load(request.args.to_dict())
        data, filename, _ = document_upload(request)
        made = self.messaging.upload_document(identity, base64.b64encode(data).decode(),
                                              query.get("filename") or filename,
                                              idempotency_key=idempotency_key(request))
        return json_response(schemas.DocumentView().dump(made), 201,
                             headers={"Location": made["links"]["self"]})

    @api("GET", "/v1/documents/<string:document_id>", answer=schemas.DocumentView,
         errors=(403, 404))
    def get_document(self, request, document_id):
        """An uploaded document's name, kind, size and sha256."""
        identity = self._authenticate(request)
        return schemas.DocumentView().dump(self.messaging.get_document(identity, document_id))

    @api("GET", "/d/<string:token>", public=True, answer=HTML, answer_description="the page",
         answers=LINK_PROBLEMS, path_parameters=TOKEN)
    def document_page(self, request, token):
        """The public page of a document sent by text or call: its name and a download."""
        try:
            found = self.messaging.open_document_link(token)
        except DomainError as exc:
            return link_problem(exc, EXPIRED_ADVICE)
        size = f"{found['size'] / 1024:,.0f} KB" if found["size"] >= 1024 else \
            f"{found['size']} bytes"
        body = (f'<p>A document was sent to you: <strong id="filename">'
                f'{escape(found["filename"])}</strong> ({escape(size)}).</p>'
                f'<p><a id="download" href="/d/{escape(token)}/file" download>'
                f'Download {escape(found["filename"])}</a></p>')
        return page("Your document", body)

    @api("GET", "/d/<string:token>/file", public=True, answer=FILE,
         answer_description="the document's bytes", answers=LINK_PROBLEMS,
         path_parameters=TOKEN)
    def document_file(self, request, token):
        """The document itself, for a recipient's own link."""
        try:
            found = self.messaging.open_document_link(token, content=True)
        except DomainError as exc:
            return link_problem(exc, EXPIRED_ADVICE)
        headers = dict(HEADERS, **{"Content-Disposition":
                                   download_disposition(found["filename"])})
        return Response(base64.b64decode(found["content_base64"]), status=200,
                        mimetype=found["content_type"], headers=headers)

