"""Comments and attachments of a work order. Mixed into TicketsService.

Who may write, the first rule that applies deciding:
1. staff with `manage_tickets` for the community comment and attach, and choose who reads
   it: managers and residents, or managers only;
2. a resident who sees the ticket comments when the community lets residents comment
   (its ticket settings); the reporter may always attach files to their own ticket;
   whatever a resident writes is read by managers and residents;
3. nobody else.
A file on a comment is read by whoever reads the comment. Attachments are PDFs or images of
at most 10 MB, checked by their content (contracts.documents); a declared type the content
belies (a program sent as image/jpeg, a PNG sent as a PDF) is refused too. They are kept in
the store shared with messaging's documents (servicekit.blobs).
Management is told of a resident's comment; the reporter of a comment by staff they may
read. A managers-only comment never reaches a resident: not in an answer, a list, the log,
an event or a notice.
"""

import base64
import binascii

from sqlalchemy import select

from contracts import documents
from contracts.errors import Forbidden, InvalidRequest, NotFound
from servicekit import idempotency
from servicekit.access import Caller, new_id
from servicekit.db import utcnow
from servicekit.entrypoints import rpc
from services.tickets import activity, announcing, policy, views
from services.tickets.models import TicketAttachment, TicketComment
from services.tickets.reading import may_comment
from services.tickets.visibility import SHARED, may_mark, reads


class Comments:
    @rpc
    def add_comment(self, identity, ticket_id, body, visibility=SHARED,
                    idempotency_key=None):
        caller = Caller.of(identity)
        body = (body or "").strip()
        if not body:
            raise InvalidRequest("a comment says something", "body")
        with self.db.read() as session:
            row = policy.for_reading(session, caller, ticket_id)
            _may_write(session, caller, row, visibility, "comment")
        staff = (announcing.staff_to_tell(self.directory, self.db.read, row.organization_id,
                                          row.community_id, "resident_commented")
                 if caller.is_resident else None)
        reporter_email = (announcing.staff_reporter_email(self.directory, row)
                          if not caller.is_resident and visibility == SHARED
                          else None)

        def work(uow):
            session = uow.session
            row = policy.for_reading(session, caller, ticket_id, lock=True)
            now = utcnow()
            kind, actor_id, name = activity.who(identity)
            comment = TicketComment(id=new_id("tcm"), ticket_id=row.id, body=body,
                                    visibility=visibility, author_type=kind,
                                    author_id=actor_id, author_name=name, created_at=now)
            session.add(comment)
            if (not caller.is_resident and visibility == SHARED
                    and row.first_response_at is None):
                row.first_response_at = now
            row.updated_at = now
            activity.record(session, row.id, identity, "commented",
                            {"comment_id": comment.id}, visibility=visibility, at=now)
            session.flush()
            announcing.commented(uow, row, comment, staff, reporter_email)
            return views.comment(comment)

        return idempotency.once(self.db, idempotency.caller_scope(caller), idempotency_key,
                                {"add_comment": [ticket_id, body, visibility]}, work)

    @rpc
    def add_attachment(self, identity, ticket_id, content_base64, filename=None,
                       comment_id=None, visibility=None, declared_type=None,
                       idempotency_key=None):
        """A file for the ticket (or one of its comments). `declared_type` is the media
        type the client said it sends: one its content belies is refused."""
        caller = Caller.of(identity)
        try:
            data = base64.b64decode(content_base64 or "", validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest("the file did not arrive whole", "file") from None
        content_type, name = documents.check(data, filename, "attachment")
        documents.check_declared(declared_type, content_type)
        with self.db.read() as session:
            row = policy.for_reading(session, caller, ticket_id)
            comment = _comment(session, caller, row, comment_id)
            chosen = comment.visibility if comment else (visibility or SHARED)
            if comment and visibility and visibility != comment.visibility:
                raise InvalidRequest(f"a file on a comment is read as the comment is "
                                     f"({comment.visibility})", "visibility")
            _may_write(session, caller, row, chosen, "attachment")
        digest = self.blobs.put(data)    # stored once by its digest: a retry adds nothing

        def work(uow):
            session = uow.session
            row = policy.for_reading(session, caller, ticket_id, lock=True)
            now = utcnow()
            kind, actor_id, who = activity.who(identity)
            made = TicketAttachment(id=new_id("tat"), ticket_id=row.id, comment_id=comment_id,
                                    filename=name, content_type=content_type, size=len(data),
                                    sha256=digest, visibility=chosen, uploaded_by_type=kind,
                                    uploaded_by_id=actor_id, uploaded_by_name=who,
                                    created_at=now)
            session.add(made)
            row.updated_at = now
            activity.record(session, row.id, identity, "attachment_added",
                            {"attachment_id": made.id, "filename": name,
                             "comment_id": comment_id}, visibility=chosen, at=now)
            session.flush()
            return views.attachment(made)

        return idempotency.once(self.db, idempotency.caller_scope(caller), idempotency_key,
                                {"add_attachment": [ticket_id, digest, name, comment_id,
                                                    chosen]}, work)

    @rpc
    def get_attachment(self, identity, ticket_id, attachment_id, content=False):
        """An attachment the caller may read; with `content`, its bytes (base64)."""
        caller = Caller.of(identity)
        with self.db.read() as session:
            row = policy.for_reading(session, caller, ticket_id)
            made = session.get(TicketAttachment, attachment_id) if attachment_id else None
            if made is None or made.ticket_id != row.id or not reads(
                    caller, made.visibility):
                raise NotFound(f"attachment {attachment_id} does not exist",
                               "attachment_id")
        found = views.attachment(made)
        if content:
            found["content_base64"] = base64.b64encode(self.blobs.get(made.sha256)).decode()
        return found


def _may_write(session, caller, row, chosen, what):
    if not may_mark(caller, chosen):
        raise Forbidden("residents write only what managers and residents both read",
                        "visibility")
    if caller.is_resident:
        reporter_attaching = what == "attachment" and caller.actor_id == row.reporter_id
        if not reporter_attaching and not may_comment(session, caller, row):
            raise Forbidden("residents of this community do not comment on work orders "
                            "(its ticket settings)", "permission")
        return
    policy.require_manager(caller, row.community_id)


def _comment(session, caller, row, comment_id):
    if comment_id is None:
        return None
    found = session.scalar(select(TicketComment).where(TicketComment.id == comment_id,
                                                       TicketComment.ticket_id == row.id))
    if found is None or not reads(caller, found.visibility):
        raise NotFound(f"comment {comment_id} does not exist on this ticket", "comment_id")
    return found
