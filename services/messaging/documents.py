"""Documents a send carries (kind `document`): uploaded once, checked by their content
(contracts.documents), kept in the store every instance shares (servicekit.blobs) with a row
here naming their organization, and sent — by email as an attachment, in texts and calls as
each recipient's own link (document_links) to the public download page, which needs no login
and opens only what that link's delivery carried."""

from contracts import documents
from contracts.errors import Gone, InvalidRequest, NotFound
from servicekit import idempotency
from servicekit.access import new_id
from services.messaging import document_links
from services.messaging.models import Communication, Delivery, Document

READERS = ("send_communications", "view_reports")


def upload(db, blobs, caller, data, filename=None, idempotency_key=None):
    """Keep the document and answer its view; the same Idempotency-Key with the same file
    and name answers the first document again (one row), another request under it is
    refused. The bytes go to the store first (named by their sha256, so storing them twice
    changes nothing); the row and the key's record are one transaction."""
    caller.require("send_communications")
    idempotency.check_key(idempotency_key)
    content_type, name = documents.check(data, filename)
    digest = blobs.put(data)

    def work(uow):
        row = Document(id=new_id("doc"), organization_id=caller.organization_id,
                       filename=name, content_type=content_type, size=len(data),
                       sha256=digest, uploaded_by=caller.actor_id)
        uow.session.add(row)
        uow.session.flush()
        return view(row)

    return idempotency.once(db, idempotency.caller_scope(caller), idempotency_key,
                            {"upload_document": [digest, filename]}, work)


def load(session, caller, document_id):
    """The caller's organization's document, else NotFound naming the field."""
    row = session.get(Document, document_id) if document_id else None
    if row is None or row.organization_id != caller.organization_id:
        raise NotFound(f"document {document_id} does not exist", "document_id")
    return row


def view(row):
    return {"id": row.id, "filename": row.filename, "content_type": row.content_type,
            "size": row.size, "sha256": row.sha256, "uploaded_by": row.uploaded_by,
            "created_at": row.created_at.isoformat(),
            "links": {"self": f"/v1/documents/{row.id}"}}


def public_view(row):
    """What a recipient's download page shows: nothing of who uploaded it."""
    return {"filename": row.filename, "content_type": row.content_type, "size": row.size,
            "sha256": row.sha256}


def by_link(session, secret, token, now=None):
    """(document, delivery) a recipient's link opens; InvalidRequest on `token` for a link
    we did not sign (or for nothing we sent), Gone for one past its last day."""
    try:
        delivery_id = document_links.verify(secret, token, now)
    except document_links.LinkError as exc:
        if exc.reason == "expired":
            raise Gone(exc.detail, "token") from None
        raise InvalidRequest(exc.detail, "token") from None
    delivery = session.get(Delivery, delivery_id)
    communication = delivery and session.get(Communication, delivery.communication_id)
    row = communication and communication.document_id and session.get(
        Document, communication.document_id)
    if row is None:
        raise InvalidRequest("this link opens nothing we sent", "token")
    return row, delivery
