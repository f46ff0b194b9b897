"""Routes for residents and their contact points, staff users, teams and API keys. Mixed into
GatewayService; directory decides who may see or change each object."""

from werkzeug.wrappers import Response

from contracts import api as schemas
from contracts import directory_api as objects
from gateway.http import api, idempotency_key, json_body, wire

CHANGE = (403, 404, 409, 422)
# where a created resident is followed (see openapi.links)
RESIDENT_ROUTES = (("GET", "/v1/residents/{resident_id}", "resident_id"),
                   ("PATCH", "/v1/residents/{resident_id}", "resident_id"),
                   ("POST", "/v1/residents/{resident_id}/move-out", "resident_id"),
                   ("POST", "/v1/residents/{resident_id}/portal-account", "resident_id"),
                   ("POST", "/v1/residents/{resident_id}/contact-points", "resident_id"),
                   ("GET", "/v1/residents/{resident_id}/preferences", "resident_id"),
                   ("PUT", "/v1/residents/{resident_id}/preferences", "resident_id"),
                   ("GET", "/v1/residents/{resident_id}/consents", "resident_id"),
                   ("GET", "/v1/residents/{resident_id}/consents.csv", "resident_id"))
# the contact point an answer's resident lists first: the one just added
FIRST_CONTACT_POINT = ("contact_point_id", "/contact_points/0/id")

class PeopleRoutes:
    # --- residents and contact points -------------------------------------------------

    @api("POST", "/v1/residents", request=objects.ResidentRequest,
         answer=schemas.ResidentView, status=201, errors=CHANGE, idempotency_key="accepted",
         follow=RESIDENT_ROUTES)
    def create_resident(self, request):
        """Move a resident into a unit, with contact points."""
        identity = self._authenticate(request)
        fields = wire(objects.ResidentRequest().load(json_body(request)))
        made = self.directory.create_resident(identity, fields,
                                              idempotency_key=idempotency_key(request))
        return 201, schemas.ResidentView().dump(made)

    @api("PATCH", "/v1/residents/<string:resident_id>", request=objects.ResidentUpdate,
         answer=schemas.ResidentView, errors=CHANGE)
    def update_resident(self, request, resident_id):
        """Change a resident's name, kind, language or external id."""
        identity = self._authenticate(request)
        fields = wire(objects.ResidentUpdate().load(json_body(request)))
        return schemas.ResidentView().dump(
            self.directory.update_resident(identity, resident_id, fields))

    @api("POST", "/v1/residents/<string:resident_id>/move-out", request=objects.MoveOutRequest,
         request_required=False, answer=schemas.ResidentView, errors=CHANGE,
         idempotency_key="accepted")
    def move_out(self, request, resident_id):
        """Move a resident out; the record and its history stay."""
        identity = self._authenticate(request)
        body = json_body(request) if request.get_data() else {}  # no body: today
        fields = wire(objects.MoveOutRequest().load(body))
        moved = self.directory.move_out(identity, resident_id, fields.get("date"),
                                        idempotency_key=idempotency_key(request))
        return schemas.ResidentView().dump(moved)

    @api("POST", "/v1/residents/<string:resident_id>/portal-account",
         request=objects.PortalAccountRequest, answer=objects.PortalAccountView, status=201,
         errors=CHANGE, idempotency_key="accepted")
    def create_portal_account(self, request, resident_id):
        """Give a resident a portal login (manage_directory there); the first password is
        handed over by the manager."""
        identity = self._authenticate(request)
        fields = objects.PortalAccountRequest().load(json_body(request))
        made = self.directory.create_portal_account(identity, resident_id, fields,
                                                    idempotency_key=idempotency_key(request))
        return 201, objects.PortalAccountView().dump(made)

    @api("POST", "/v1/residents/<string:resident_id>/contact-points",
         request=objects.ContactPointRequest, answer=schemas.ResidentView, status=201,
         errors=CHANGE, idempotency_key="accepted",
         follow=(("PATCH", "/v1/contact-points/{contact_point_id}", *FIRST_CONTACT_POINT),
                 ("DELETE", "/v1/contact-points/{contact_point_id}", *FIRST_CONTACT_POINT)))
    def add_contact_point(self, request, resident_id):
        """Add a phone (E.164 after normalizing) or an email."""
        identity = self._authenticate(request)
        fields = wire(objects.ContactPointRequest().load(json_body(request)))
        changed = self.directory.add_contact_point(identity, resident_id, fields,
                                                   idempotency_key=idempotency_key(request))
        return 201, schemas.ResidentView().dump(changed)

    @api("PATCH", "/v1/contact-points/<string:contact_point_id>",
         request=objects.ContactPointUpdate, answer=schemas.ResidentView, errors=CHANGE)
    def make_primary(self, request, contact_point_id):
        """Make a contact point the primary of its kind."""
        identity = self._authenticate(request)
        objects.ContactPointUpdate().load(json_body(request))
        return schemas.ResidentView().dump(
            self.directory.make_primary(identity, contact_point_id))

    @api("DELETE", "/v1/contact-points/<string:contact_point_id>",
         answer=schemas.ResidentView, errors=(403, 404))
    def remove_contact_point(self, request, contact_point_id):
        """Remove a contact point (the newest other becomes primary)."""
        identity = self._authenticate(request)
        return schemas.ResidentView().dump(
            self.directory.remove_contact_point(identity, contact_point_id))

    # --- staff users ---------------------------------------------------------------------

    @api("GET", "/v1/staff", query=schemas.ListQuery, answer=objects.StaffPage,
         errors=(403, 422))
    def list_staff(self, request):
        """Staff users (master users)."""
        identity = self._authenticate(request)
        query = schemas.ListQuery().load(request.args.to_dict())
        return objects.StaffPage().dump(self.directory.list_staff(identity, **query))

    @api("POST", "/v1/staff", request=objects.StaffRequest, answer=objects.StaffView,
         status=201, errors=CHANGE, idempotency_key="accepted",
         follow=(("GET", "/v1/staff/{staff_user_id}", "staff_user_id"),
                 ("PATCH", "/v1/staff/{staff_user_id}", "staff_user_id"),
                 ("GET", "/v1/staff/{staff_user_id}/grants", "staff_user_id"),
                 ("POST", "/v1/staff/{staff_user_id}/grants", "staff_user_id")))
    def create_staff(self, request):
        """Add a staff user, with a login when a password is given (master users)."""
        identity = self._authenticate(request)
        fields = wire(objects.StaffRequest().load(json_body(request)))
        made = self.directory.create_staff(identity, fields,
                                           idempotency_key=idempotency_key(request))
        return 201, objects.StaffView().dump(made)

    @api("GET", "/v1/staff/<string:staff_user_id>", answer=objects.StaffView,
         errors=(403, 404))
    def get_staff(self, request, staff_user_id):
        """A staff user (master users, or the user)."""
        identity = self._authenticate(request)
        return objects.StaffView().dump(self.directory.get_staff(identity, staff_user_id))

    @api("PATCH", "/v1/staff/<string:staff_user_id>", request=objects.StaffUpdate,
         answer=objects.StaffView, errors=CHANGE)
    def update_staff(self, request, staff_user_id):
        """Rename, disable or enable a staff user (master users)."""
        identity = self._authenticate(request)
        fields = wire(objects.StaffUpdate().load(json_body(request)))
        return objects.StaffView().dump(self.directory.update_staff(identity, staff_user_id,
                                                                    fields))

    # --- teams ---------------------------------------------------------------------------

    @api("GET", "/v1/teams", query=schemas.ListQuery, answer=objects.TeamPage,
         errors=(403, 422))
    def list_teams(self, request):
        """Teams (master users: all; others: their own)."""
        identity = self._authenticate(request)
        query = schemas.ListQuery().load(request.args.to_dict())
        return objects.TeamPage().dump(self.directory.list_teams(identity, **query))

    @api("POST", "/v1/teams", request=objects.TeamRequest, answer=objects.TeamView,
         status=201, errors=CHANGE, idempotency_key="accepted",
         follow=(("GET", "/v1/teams/{team_id}", "team_id"),
                 ("PATCH", "/v1/teams/{team_id}", "team_id")))
    def create_team(self, request):
        """Add a team (master users)."""
        identity = self._authenticate(request)
        fields = wire(objects.TeamRequest().load(json_body(request)))
        made = self.directory.create_team(identity, fields,
                                          idempotency_key=idempotency_key(request))
        return 201, objects.TeamView().dump(made)

    @api("GET", "/v1/teams/<string:team_id>", answer=objects.TeamView, errors=(403, 404))
    def get_team(self, request, team_id):
        """A team (master users and its members)."""
        identity = self._authenticate(request)
        return objects.TeamView().dump(self.directory.get_team(identity, team_id))

    @api("PATCH", "/v1/teams/<string:team_id>", request=objects.TeamUpdate,
         answer=objects.TeamView, errors=CHANGE)
    def update_team(self, request, team_id):
        """Change a team (master users)."""
        identity = self._authenticate(request)
        fields = wire(objects.TeamUpdate().load(json_body(request)))
        return objects.TeamView().dump(self.directory.update_team(identity, team_id, fields))

    @api("PUT", "/v1/teams/<string:team_id>/members/<string:staff_user_id>",
         answer=objects.TeamView, errors=(403, 404))
    def add_team_member(self, request, team_id, staff_user_id):
        """Add a member (master users)."""
        identity = self._authenticate(request)
        return objects.TeamView().dump(
            self.directory.add_team_member(identity, team_id, staff_user_id))

    @api("DELETE", "/v1/teams/<string:team_id>/members/<string:staff_user_id>",
         answer=objects.TeamView, errors=(403, 404))
    def remove_team_member(self, request, team_id, staff_user_id):
        """Remove a member (master users)."""
        identity = self._authenticate(request)
        return objects.TeamView().dump(
            self.directory.remove_team_member(identity, team_id, staff_user_id))

    # --- API keys ------------------------------------------------------------------------

    @api("GET", "/v1/api-keys", answer=objects.ApiKeyList, errors=(403,))
    def list_api_keys(self, request):
        """API keys of the organization, without secrets (master users)."""
        identity = self._authenticate(request)
        return objects.ApiKeyList().dump(self.directory.list_api_keys(identity))

    @api("POST", "/v1/api-keys", request=objects.ApiKeyRequest, answer=objects.ApiKeyCreated,
         status=201, errors=(403, 422),
         follow=(("DELETE", "/v1/api-keys/{api_key_id}", "api_key_id"),))
    def create_api_key(self, request):
        """Create an API key; the key is in this answer only (master users).

        No Idempotency-Key here: replaying would mean keeping the secret to show again."""
        identity = self._authenticate(request)
        body = objects.ApiKeyRequest().load(json_body(request))
        made = self.directory.create_api_key(identity, body["name"], body["permissions"],
                                             body["grants"])
        return 201, objects.ApiKeyCreated().dump(made)

    @api("DELETE", "/v1/api-keys/<string:api_key_id>", status=204, errors=(403, 404))
    def revoke_api_key(self, request, api_key_id):
        """Revoke an API key at once (master users)."""
        identity = self._authenticate(request)
        self.directory.revoke_api_key(identity, api_key_id)
        return Response(status=204)
