"""Routes of the directory: sign-in, communities, residents, staff and their grants, the
audit log. Mixed into GatewayService; every route authenticates and hands the identity to
directory, which decides."""

from werkzeug.wrappers import Response

from contracts import api as schemas
from gateway.http import api, client_address, json_body

# the query of lists that take no search: the page only
PAGE_QUERY = schemas.ListQuery(only=("cursor", "limit"))


class DirectoryRoutes:
    def _address(self, request):
        return client_address(request, self.config["gateway"].get("trusted_proxies") or ())

    # --- sign in -----------------------------------------------------------------

    @api("POST", "/v1/auth/login", public=True, request=schemas.LoginRequest,
         answer=schemas.Tokens, errors=(401, 422, 429))
    def login(self, request):
        """Sign in with email and password."""
        body = schemas.LoginRequest().load(json_body(request))
        tokens = self.directory.login(body["email"], body["password"], self._address(request),
                                      body.get("organization_id"))
        return schemas.Tokens().dump(tokens)

    @api("POST", "/v1/auth/refresh", public=True, request=schemas.RefreshRequest,
         answer=schemas.Tokens, errors=(401, 422))
    def refresh(self, request):
        """Rotate a refresh token for new tokens."""
        body = schemas.RefreshRequest().load(json_body(request))
        return schemas.Tokens().dump(self.directory.refresh(body["refresh_token"],
                                                            self._address(request)))

    @api("POST", "/v1/auth/logout", public=True, request=schemas.RefreshRequest, status=204,
         errors=(422,))
    def logout(self, request):
        """Revoke a refresh token."""
        body = schemas.RefreshRequest().load(json_body(request))
        self.directory.logout(body["refresh_token"], self._address(request))
        return Response(status=204)

    @api("GET", "/v1/me", answer=schemas.Identity)
    def me(self, request):
        """Who the caller is and where it holds which permission."""
        return schemas.Identity().dump(self._authenticate(request))

    # --- directory -----------------------------------------------------------------

    @api("GET", "/v1/communities", query=schemas.ListQuery, answer=schemas.CommunityPage,
         errors=(422,))
    def list_communities(self, request):
        """Communities the caller may see."""
        identity = self._authenticate(request)
        query = schemas.ListQuery().load(request.args.to_dict())
        return schemas.CommunityPage().dump(self.directory.list_communities(identity, **query))

    @api("GET", "/v1/communities/<string:community_id>", answer=schemas.CommunityView,
         errors=(403, 404))
    def get_community(self, request, community_id):
        """A community."""
        identity = self._authenticate(request)
        return schemas.CommunityView().dump(self.directory.get_community(identity, community_id))

    @api("GET", "/v1/residents", query=schemas.ResidentListQuery,
         answer=schemas.ResidentPage, errors=(422,))
    def list_residents(self, request):
        """Residents the caller may see; search by name, unit, phone or email."""
        identity = self._authenticate(request)
        query = schemas.ResidentListQuery().load(request.args.to_dict())
        return schemas.ResidentPage().dump(self.directory.list_residents(identity, **query))

    @api("GET", "/v1/residents/<string:resident_id>", answer=schemas.ResidentView,
         errors=(403, 404))
    def get_resident(self, request, resident_id):
        """A resident with contact points."""
        identity = self._authenticate(request)
        return schemas.ResidentView().dump(self.directory.get_resident(identity, resident_id))

    @api("GET", "/v1/staff/<string:staff_user_id>/grants", answer=schemas.GrantList,
         errors=(403, 404))
    def list_grants(self, request, staff_user_id):
        """A staff user's grants (master users)."""
        identity = self._authenticate(request)
        return schemas.GrantList().dump(self.directory.list_grants(identity, staff_user_id))

    @api("POST", "/v1/staff/<string:staff_user_id>/grants", request=schemas.GrantRequest,
         answer=schemas.GrantView, status=201, errors=(403, 404, 422),
         follow=(("DELETE", "/v1/grants/{grant_id}", "grant_id"),))
    def grant(self, request, staff_user_id):
        """Grant a permission or a role at a scope (master users)."""
        identity = self._authenticate(request)
        body = schemas.GrantRequest().load(json_body(request))
        granted = self.directory.grant(identity, staff_user_id, body["name"],
                                       body["scope_type"], body["scope_id"])
        return 201, schemas.GrantView().dump(granted)

    @api("DELETE", "/v1/grants/<string:grant_id>", status=204, errors=(403, 404))
    def revoke(self, request, grant_id):
        """Revoke a grant (master users)."""
        identity = self._authenticate(request)
        self.directory.revoke(identity, grant_id)
        return Response(status=204)

    @api("GET", "/v1/audit-log", query=PAGE_QUERY, answer=schemas.AuditPage,
         errors=(403,))
    def audit_log(self, request):
        """Security events of the organization (master users)."""
        identity = self._authenticate(request)
        query = schemas.ListQuery(only=("cursor", "limit")).load(request.args.to_dict())
        return schemas.AuditPage().dump(self.directory.audit_log(identity, **query))
