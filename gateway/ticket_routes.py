"""Routes of work orders (tickets): report one, read, change, move and assign it, comment and
attach files, page through its activity log, print it (a page or a PDF); list them (or
download every match as CSV), a resident's dashboard, and the organization's and each
community's ticket settings. Mixed into GatewayService; tickets decides who may see or
change each work order and what of it each caller reads."""

import base64

from werkzeug.wrappers import Response

from contracts import documents
from contracts import ticket_api as schemas
from gateway.declaration import CSV, HTML, PDF
from gateway.http import (
    api,
    csv_download,
    document_upload,
    download_disposition,
    idempotency_key,
    json_body,
    json_response,
    wire,
)
from gateway.pages import HEADERS
from gateway.ticket_pages import printable_page
from servicekit.spreadsheets import to_csv

TICKETS = "/v1/tickets"
TICKET = TICKETS + "/<string:ticket_id>"
ATTACHMENT = TICKET + "/attachments/<string:attachment_id>"
READ = (403, 404)
CHANGE = (403, 404, 422)
# where a reported work order is followed (see openapi.links)
TICKET_ROUTES = tuple((method, "/v1/tickets/{ticket_id}" + tail, "ticket_id")
                      for method, tail in (("GET", ""), ("PATCH", ""), ("POST", "/move"),
                                           ("POST", "/assign"), ("POST", "/comments"),
                                           ("POST", "/attachments"), ("GET", "/activity"),
                                           ("GET", "/print"), ("GET", "/pdf")))
FILE = tuple(documents.ACCEPTED)      # the media type its content says
EXPORT_PAGE = 200
# a row of the CSV export: a summary, its assignee flattened
TICKET_COLUMNS = ("number", "id", "kind", "status", "priority", "category", "title",
                  "community_id", "unit_id", "unit_label", "location", "assignee_type",
                  "assignee_id", "assignee_name", "due_at", "overdue", "created_at",
                  "updated_at")


class TicketRoutes:
    @api("POST", TICKETS, request=schemas.TicketRequest, answer=schemas.TicketSummary,
         status=201, location=True, errors=(403, 404, 422), idempotency_key="accepted",
         follow=TICKET_ROUTES)
    def create_ticket(self, request):
        """Report a work order: a resident's for their own unit or community's common area;
        staff's with manage_tickets there, on a resident's behalf or not."""
        identity = self._authenticate(request)
        fields = wire(schemas.TicketRequest().load(json_body(request)))
        made = self.tickets.create_ticket(identity, fields,
                                          idempotency_key=idempotency_key(request))
        return json_response(schemas.TicketSummary().dump(made), 201,
                             headers={"Location": made["links"]["self"]})

    @api("GET", TICKETS, query=schemas.TicketListQuery, answer=(schemas.TicketPage, CSV),
         errors=(403, 422))
    def list_tickets(self, request):
        """Work orders the caller may read, newest first; format=csv downloads every
        match.

        A resident reads their own unit's and their community's common-area ones; staff
        those of the communities they hold a permission for."""
        identity = self._authenticate(request)
        query = schemas.TicketListQuery().load(request.args.to_dict())
        for moment in ("created_after", "created_before"):
            if moment in query:
                query[moment] = query[moment].isoformat()
        if query.pop("format", "json") == "csv":
            return csv_download(to_csv(TICKET_COLUMNS, self._every_ticket(identity, query)),
                                "work-orders")
        return schemas.TicketPage().dump(self.tickets.list_tickets(identity, **query))

    @api("GET", TICKETS + "/dashboard", answer=schemas.Dashboard, errors=(403,))
    def ticket_dashboard(self, request):
        """A resident's open work orders: their unit's and their community's common
        area's."""
        identity = self._authenticate(request)
        return schemas.Dashboard().dump(self.tickets.ticket_dashboard(identity))

    @api("GET", TICKETS + "/settings", answer=schemas.TicketSettingsView, errors=())
    def get_ticket_settings(self, request):
        """The organization's ticket settings: categories, response targets per priority,
        who may reopen a completed ticket."""
        identity = self._authenticate(request)
        return schemas.TicketSettingsView().dump(self.tickets.get_settings(identity))

    @api("PUT", TICKETS + "/settings", request=schemas.TicketSettings,
         answer=schemas.TicketSettingsView, errors=(403, 422))
    def update_ticket_settings(self, request):
        """Change the organization's ticket settings (manage_tickets for the whole
        organization); a setting left out stays as it is."""
        identity = self._authenticate(request)
        fields = schemas.TicketSettings().load(json_body(request))
        return schemas.TicketSettingsView().dump(self.tickets.update_settings(identity,
                                                                              fields))

    @api("GET", "/v1/communities/<string:community_id>/ticket-settings",
         answer=schemas.CommunityTicketSettingsView, errors=READ)
    def get_community_ticket_settings(self, request, community_id):
        """A community's ticket settings: who is told of what, its emails' header, whether
        residents may comment, how a reporter hears back (staff)."""
        identity = self._authenticate(request)
        return schemas.CommunityTicketSettingsView().dump(
            self.tickets.get_community_settings(identity, community_id))

    @api("PUT", "/v1/communities/<string:community_id>/ticket-settings",
         request=schemas.CommunityTicketSettings,
         answer=schemas.CommunityTicketSettingsView, errors=CHANGE)
    def update_community_ticket_settings(self, request, community_id):
        """Change a community's ticket settings (manage_tickets there); a setting left out
        stays as it is."""
        identity = self._authenticate(request)
        fields = schemas.CommunityTicketSettings().load(json_body(request))
        return schemas.CommunityTicketSettingsView().dump(
            self.tickets.update_community_settings(identity, community_id, fields))

    @api("GET", TICKET, answer=schemas.TicketView, errors=READ)
    def get_ticket(self, request, ticket_id):
        """A work order with the comments and files the caller may read, and what they may
        do with it now."""
        identity = self._authenticate(request)
        return schemas.TicketView().dump(self.tickets.get_ticket(identity, ticket_id))

    @api("PATCH", TICKET, request=schemas.TicketChange, answer=schemas.TicketView,
         errors=CHANGE)
    def update_ticket(self, request, ticket_id):
        """Change a work order: staff with manage_tickets any detail and the due date; the
        resident who reported it what they wrote, while it is New."""
        identity = self._authenticate(request)
        fields = wire(schemas.TicketChange().load(json_body(request)))
        return schemas.TicketView().dump(self.tickets.update_ticket(identity, ticket_id,
                                                                    fields))

    @api("POST", TICKET + "/move", request=schemas.TicketMove, answer=schemas.TicketView,
         errors=CHANGE)
    def move_ticket(self, request, ticket_id):
        """Move a work order to another status, with an optional note (managers only, or
        read by residents too); the answer lists the moves the caller may make next."""
        identity = self._authenticate(request)
        move = schemas.TicketMove().load(json_body(request))
        return schemas.TicketView().dump(self.tickets.move_ticket(
            identity, ticket_id, move["status"], note=move.get("note"),
            note_visibility=move["note_visibility"]))

    @api("POST", TICKET + "/assign", request=schemas.TicketAssign, answer=schemas.TicketView,
         errors=CHANGE)
    def assign_ticket(self, request, ticket_id):
        """Assign a work order to a staff user, a team or a named vendor, or to nobody
        (manage_tickets)."""
        identity = self._authenticate(request)
        assign = schemas.TicketAssign().load(json_body(request))
        return schemas.TicketView().dump(self.tickets.assign_ticket(
            identity, ticket_id, assign["assignee"], note=assign.get("note")))

    @api("POST", TICKET + "/comments", request=schemas.CommentRequest,
         answer=schemas.CommentView, status=201, errors=CHANGE, idempotency_key="accepted")
    def add_ticket_comment(self, request, ticket_id):
        """Comment on a work order: staff choose who reads it; residents' comments are read
        by everyone who reads the ticket."""
        identity = self._authenticate(request)
        comment = schemas.CommentRequest().load(json_body(request))
        made = self.tickets.add_comment(identity, ticket_id, comment["body"],
                                        visibility=comment["visibility"],
                                        idempotency_key=idempotency_key(request))
        return 201, schemas.CommentView().dump(made)

    @api("POST", TICKET + "/attachments", body="upload", request=FILE,
         query=schemas.AttachmentQuery, answer=schemas.AttachmentView, status=201,
         location=True, errors=(403, 404, 413, 422), idempotency_key="accepted",
         description="A photo or a PDF (PNG, JPEG, GIF, WebP or PDF) of at most 10 MB, as "
                     "the `file` field of multipart/form-data or as the raw body; its kind "
                     "is decided by its content, not by its name, and a declared type "
                     "(the part's or the body's Content-Type) its content belies is refused "
                     "(application/octet-stream declares nothing).")
    def add_ticket_attachment(self, request, ticket_id):
        """Attach a file to a work order, or to one of its comments."""
        identity = self._authenticate(request)
        query = schemas.AttachmentQuery().load(request.args.to_dict())
        data, filename, declared = document_upload(request, "attachment")
        made = self.tickets.add_attachment(
            identity, ticket_id, base64.b64encode(data).decode(),
            filename=query.get("filename") or filename, comment_id=query.get("comment_id"),
            visibility=query.get("visibility"), declared_type=declared,
            idempotency_key=idempotency_key(request))
        return json_response(schemas.AttachmentView().dump(made), 201,
                             headers={"Location": made["links"]["self"]})

    @api("GET", ATTACHMENT, answer=schemas.AttachmentView, errors=READ)
    def get_ticket_attachment(self, request, ticket_id, attachment_id):
        """An attachment's name, kind, size and sha256."""
        identity = self._authenticate(request)
        return schemas.AttachmentView().dump(
            self.tickets.get_attachment(identity, ticket_id, attachment_id))

    @api("GET", ATTACHMENT + "/content", answer=FILE, answer_description="the file's bytes",
         errors=READ)
    def ticket_attachment_content(self, request, ticket_id, attachment_id):
        """An attachment's file, as a download of the kind its content is."""
        identity = self._authenticate(request)
        found = self.tickets.get_attachment(identity, ticket_id, attachment_id, content=True)
        headers = dict(HEADERS, **{"Content-Disposition":
                                   download_disposition(found["filename"])})
        return Response(base64.b64decode(found["content_base64"]),
                        mimetype=found["content_type"], headers=headers)

    @api("GET", TICKET + "/activity", query=schemas.ActivityQuery,
         answer=schemas.ActivityPage, errors=(403, 404, 422))
    def ticket_activity(self, request, ticket_id):
        """A work order's activity log, oldest first, as the caller may read it."""
        identity = self._authenticate(request)
        query = schemas.ActivityQuery().load(request.args.to_dict())
        return schemas.ActivityPage().dump(self.tickets.ticket_activity(identity, ticket_id,
                                                                        **query))

    @api("GET", TICKET + "/print", answer=HTML, answer_description="the page", errors=READ)
    def ticket_print_page(self, request, ticket_id):
        """A work order as a printable page: its details, the comments the caller may read
        and its activity log."""
        identity = self._authenticate(request)
        printout = self.tickets.ticket_printout(identity, ticket_id)
        return printable_page(printout["ticket"], printout["activity"],
                              printout["community_name"])

    @api("GET", TICKET + "/pdf", answer=PDF, errors=READ)
    def ticket_pdf(self, request, ticket_id):
        """A work order as a PDF: what the printable page shows."""
        identity = self._authenticate(request)
        made = self.tickets.ticket_pdf(identity, ticket_id)
        return Response(base64.b64decode(made["content_base64"]), mimetype="application/pdf",
                        headers={"Content-Disposition": download_disposition(made["filename"])})

    def _every_ticket(self, identity, query):
        """Every work order the list's filters match, a page of EXPORT_PAGE at a time, as
        rows of the CSV export."""
        query = dict(query, limit=EXPORT_PAGE, cursor=None)
        while True:
            page = self.tickets.list_tickets(identity, **query)
            yield from (csv_row(t) for t in schemas.TicketSummary(many=True).dump(
                page["items"]))
            if not page["next"]:
                return
            query["cursor"] = page["next"]


def csv_row(summary):
    """A ticket summary as a row of the export: its assignee in three columns."""
    assignee = summary.get("assignee") or {}
    return dict(summary, assignee_type=assignee.get("type"), assignee_id=assignee.get("id"),
                assignee_name=assignee.get("name"))
