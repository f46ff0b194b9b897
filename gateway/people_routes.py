"""Routes for residents and their contact points, staff users, teams and API keys. Mixed into
GatewayService; directory decides who may see or change each object."""

from werkzeug.wrappers import Response

from contracts import api as schemas
from contracts import directory_api as objects
from gateway.http import api, idempotency_key, json_body, wire


class PeopleRoutes:
    # --- residents and contact points -------------------------------------------------

    @api("POST", "/v1/residents")
    def create_resident(self, request):
        identity = self._authenticate(request)
        fields = wire(objects.ResidentRequest().load(json_body(request)))
        made = self.directory.create_resident(identity, fields,
                                              idempotency_key=idempotency_key(request))
        return 201, schemas.ResidentView().dump(made)

    @api("PATCH", "/v1/residents/<string:resident_id>")
    def update_resident(self, request, resident_id):
        identity = self._authenticate(request)
        fields = wire(objects.ResidentUpdate().load(json_body(request)))
        return schemas.ResidentView().dump(
            self.directory.update_resident(identity, resident_id, fields))

    @api("POST", "/v1/residents/<string:resident_id>/move-out")
    def move_out(self, request, resident_id):
        identity = self._authenticate(request)
        body = json_body(request) if request.get_data() else {}  # no body: today
        fields = wire(objects.MoveOutRequest().load(body))
        moved = self.directory.move_out(identity, resident_id, fields.get("date"),
                                        idempotency_key=idempotency_key(request))
        return schemas.ResidentView().dump(moved)

    @api("POST", "/v1/residents/<string:resident_id>/portal-account")
    def create_portal_account(self, request, resident_id):
        identity = self._authenticate(request)
        fields = objects.PortalAccountRequest().load(json_body(request))
        made = self.directory.create_portal_account(identity, resident_id, fields,
                                                    idempotency_key=idempotency_key(request))
        return 201, objects.PortalAccountView().dump(made)

    @api("POST", "/v1/residents/<string:resident_id>/contact-points")
    def add_contact_point(self, request, resident_id):
        identity = self._authenticate(request)
        fields = wire(objects.ContactPointRequest().load(json_body(request)))
        changed = self.directory.add_contact_point(identity, resident_id, fields,
                                                   idempotency_key=idempotency_key(request))
        return 201, schemas.ResidentView().dump(changed)

    @api("PATCH", "/v1/contact-points/<string:contact_point_id>")
    def make_primary(self, request, contact_point_id):
        identity = self._authenticate(request)
        objects.ContactPointUpdate().load(json_body(request))
        return schemas.ResidentView().dump(
            self.directory.make_primary(identity, contact_point_id))

    @api("DELETE", "/v1/contact-points/<string:contact_point_id>")
    def remove_contact_point(self, request, contact_point_id):
        identity = self._authenticate(request)
        return schemas.ResidentView().dump(
            self.directory.remove_contact_point(identity, contact_point_id))

    # --- staff users ---------------------------------------------------------------------

    @api("GET", "/v1/staff")
    def list_staff(self, request):
        identity = self._authenticate(request)
        query = schemas.ListQuery().load(request.args.to_dict())
        return objects.StaffPage().dump(self.directory.list_staff(identity, **query))

    @api("POST", "/v1/staff")
    def create_staff(self, request):
        identity = self._authenticate(request)
        fields = wire(objects.StaffRequest().load(json_body(request)))
        made = self.directory.create_staff(identity, fields,
                                           idempotency_key=idempotency_key(request))
        return 201, objects.StaffView().dump(made)

    @api("GET", "/v1/staff/<string:staff_user_id>")
    def get_staff(self, request, staff_user_id):
        identity = self._authenticate(request)
        return objects.StaffView().dump(self.directory.get_staff(identity, staff_user_id))

    @api("PATCH", "/v1/staff/<string:staff_user_id>")
    def update_staff(self, request, staff_user_id):
        identity = self._authenticate(request)
        fields = wire(objects.StaffUpdate().load(json_body(request)))
        return objects.StaffView().dump(self.directory.update_staff(identity, staff_user_id,
                                                                    fields))

    # --- teams ---------------------------------------------------------------------------

    @api("GET", "/v1/teams")
    def list_teams(self, request):
        identity = self._authenticate(request)
        query = schemas.ListQuery().load(request.args.to_dict())
        return objects.TeamPage().dump(self.directory.list_teams(identity, **query))

    @api("POST", "/v1/teams")
    def create_team(self, request):
        identity = self._authenticate(request)
        fields = wire(objects.TeamRequest().load(json_body(request)))
        made = self.directory.create_team(identity, fields,
                                          idempotency_key=idempotency_key(request))
        return 201, objects.TeamView().dump(made)

    @api("GET", "/v1/teams/<string:team_id>")
    def get_team(self, request, team_id):
        identity = self._authenticate(request)
        return objects.TeamView().dump(self.directory.get_team(identity, team_id))

    @api("PATCH", "/v1/teams/<string:team_id>")
    def update_team(self, request, team_id):
        identity = self._authenticate(request)
        fields = wire(objects.TeamUpdate().load(json_body(request)))
        return objects.TeamView().dump(self.directory.update_team(identity, team_id, fields))

    @api("PUT", "/v1/teams/<string:team_id>/members/<string:staff_user_id>")
    def add_team_member(self, request, team_id, staff_user_id):
        identity = self._authenticate(request)
        return objects.TeamView().dump(
            self.directory.add_team_member(identity, team_id, staff_user_id))

    @api("DELETE", "/v1/teams/<string:team_id>/members/<string:staff_user_id>")
    def remove_team_member(self, request, team_id, staff_user_id):
        identity = self._authenticate(request)
        return objects.TeamView().dump(
            self.directory.remove_team_member(identity, team_id, staff_user_id))

    # --- API keys ------------------------------------------------------------------------

    @api("GET", "/v1/api-keys")
    def list_api_keys(self, request):
        identity = self._authenticate(request)
        return objects.ApiKeyList().dump(self.directory.list_api_keys(identity))

    @api("POST", "/v1/api-keys")
    def create_api_key(self, request):
        """No Idempotency-Key here: replaying would mean keeping the secret to show again."""
        identity = self._authenticate(request)
        body = objects.ApiKeyRequest().load(json_body(request))
        made = self.directory.create_api_key(identity, body["name"], body["permissions"],
                                             body["grants"])
        return 201, objects.ApiKeyCreated().dump(made)

    @api("DELETE", "/v1/api-keys/<string:api_key_id>")
    def revoke_api_key(self, request, api_key_id):
        identity = self._authenticate(request)
        self.directory.revoke_api_key(identity, api_key_id)
        return Response(status=204)
