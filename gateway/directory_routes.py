"""Routes of the directory: sign-in, communities, residents, staff and their grants, the
audit log. Mixed into GatewayService; every route authenticates and hands the identity to
directory, which decides."""

from werkzeug.wrappers import Response

from contracts import api as schemas
from gateway.http import api, client_address, json_body


class DirectoryRoutes:
    def _address(self, request):
        return client_address(request, self.config["gateway"].get("trusted_proxies") or ())

    # --- sign in -----------------------------------------------------------------

    @api("POST", "/v1/auth/login")
    def login(self, request):
        body = schemas.LoginRequest().load(json_body(request))
        tokens = self.directory.login(body["email"], body["password"], self._address(request),
                                      body.get("organization_id"))
        return schemas.Tokens().dump(tokens)

    @api("POST", "/v1/auth/refresh")
    def refresh(self, request):
        body = schemas.RefreshRequest().load(json_body(request))
        return schemas.Tokens().dump(self.directory.refresh(body["refresh_token"],
                                                            self._address(request)))

    @api("POST", "/v1/auth/logout")
    def logout(self, request):
        body = schemas.RefreshRequest().load(json_body(request))
        self.directory.logout(body["refresh_token"], self._address(request))
        return Response(status=204)

    @api("GET", "/v1/me")
    def me(self, request):
        return schemas.Identity().dump(self._authenticate(request))

    # --- directory -----------------------------------------------------------------

    @api("GET", "/v1/communities")
    def list_communities(self, request):
        identity = self._authenticate(request)
        query = schemas.ListQuery().load(request.args.to_dict())
        return schemas.CommunityPage().dump(self.directory.list_communities(identity, **query))

    @api("GET", "/v1/communities/<string:community_id>")
    def get_community(self, request, community_id):
        identity = self._authenticate(request)
        return schemas.CommunityView().dump(self.directory.get_community(identity, community_id))

    @api("GET", "/v1/residents")
    def list_residents(self, request):
        identity = self._authenticate(request)
        query = schemas.ResidentListQuery().load(request.args.to_dict())
        return schemas.ResidentPage().dump(self.directory.list_residents(identity, **query))

    @api("GET", "/v1/residents/<string:resident_id>")
    def get_resident(self, request, resident_id):
        identity = self._authenticate(request)
        return schemas.ResidentView().dump(self.directory.get_resident(identity, resident_id))

    @api("GET", "/v1/staff/<string:staff_user_id>/grants")
    def list_grants(self, request, staff_user_id):
        identity = self._authenticate(request)
        return schemas.GrantList().dump(self.directory.list_grants(identity, staff_user_id))

    @api("POST", "/v1/staff/<string:staff_user_id>/grants")
    def grant(self, request, staff_user_id):
        identity = self._authenticate(request)
        body = schemas.GrantRequest().load(json_body(request))
        granted = self.directory.grant(identity, staff_user_id, body["name"],
                                       body["scope_type"], body["scope_id"])
        return 201, schemas.GrantView().dump(granted)

    @api("DELETE", "/v1/grants/<string:grant_id>")
    def revoke(self, request, grant_id):
        identity = self._authenticate(request)
        self.directory.revoke(identity, grant_id)
        return Response(status=204)

    @api("GET", "/v1/audit-log")
    def audit_log(self, request):
        identity = self._authenticate(request)
        query = schemas.ListQuery(only=("cursor", "limit")).load(request.args.to_dict())
        return schemas.AuditPage().dump(self.directory.audit_log(identity, **query))
