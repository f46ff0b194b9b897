"""Routes for offices, communities and units. Mixed into GatewayService; directory decides
who may see or change each object."""

from contracts import api as schemas
from contracts import directory_api as objects
from gateway.http import api, idempotency_key, json_body, wire

CHANGE = (403, 404, 409, 422)
# where a created community is followed (see openapi.links)
COMMUNITY_ROUTES = (("GET", "/v1/communities/{community_id}", "community_id"),
                    ("PATCH", "/v1/communities/{community_id}", "community_id"),
                    ("GET", "/v1/communities/{community_id}/credits", "community_id"),
                    ("GET", "/v1/communities/{community_id}/units", "community_id"),
                    ("POST", "/v1/communities/{community_id}/units", "community_id"),
                    ("POST", "/v1/communities/{community_id}/imports", "community_id"),
                    ("GET", "/v1/communities/{community_id}/consents.csv", "community_id"))


class PlacesRoutes:
    @api("GET", "/v1/organization", answer=objects.OrganizationView, errors=(403,))
    def get_organization(self, request):
        """The caller's organization (staff)."""
        identity = self._authenticate(request)
        return objects.OrganizationView().dump(self.directory.get_organization(identity))

    @api("PATCH", "/v1/organization", request=objects.OrganizationUpdate,
         answer=objects.OrganizationView, errors=(403, 422))
    def update_organization(self, request):
        """Rename the organization (master users)."""
        identity = self._authenticate(request)
        fields = wire(objects.OrganizationUpdate().load(json_body(request)))
        return objects.OrganizationView().dump(self.directory.update_organization(identity,
                                                                                  fields))

    @api("GET", "/v1/offices", query=schemas.ListQuery, answer=objects.OfficePage,
         errors=(403, 422))
    def list_offices(self, request):
        """Offices the caller holds a permission in."""
        identity = self._authenticate(request)
        query = schemas.ListQuery().load(request.args.to_dict())
        return objects.OfficePage().dump(self.directory.list_offices(identity, **query))

    @api("POST", "/v1/offices", request=objects.OfficeRequest, answer=objects.OfficeView,
         status=201, errors=(403, 422), idempotency_key="accepted",
         follow=(("GET", "/v1/offices/{office_id}", "office_id"),
                 ("PATCH", "/v1/offices/{office_id}", "office_id")))
    def create_office(self, request):
        """Add an office (master users)."""
        identity = self._authenticate(request)
        fields = wire(objects.OfficeRequest().load(json_body(request)))
        made = self.directory.create_office(identity, fields,
                                            idempotency_key=idempotency_key(request))
        return 201, objects.OfficeView().dump(made)

    @api("GET", "/v1/offices/<string:office_id>", answer=objects.OfficeView,
         errors=(403, 404))
    def get_office(self, request, office_id):
        """An office."""
        identity = self._authenticate(request)
        return objects.OfficeView().dump(self.directory.get_office(identity, office_id))

    @api("PATCH", "/v1/offices/<string:office_id>", request=objects.OfficeRequest(partial=True),
         answer=objects.OfficeView, errors=CHANGE)
    def update_office(self, request, office_id):
        """Rename an office (master users)."""
        identity = self._authenticate(request)
        fields = wire(objects.OfficeRequest(partial=True).load(json_body(request)))
        return objects.OfficeView().dump(self.directory.update_office(identity, office_id,
                                                                      fields))

    @api("POST", "/v1/communities", request=objects.CommunityRequest,
         answer=schemas.CommunityView, status=201, errors=CHANGE, idempotency_key="accepted",
         follow=COMMUNITY_ROUTES)
    def create_community(self, request):
        """Add a community to an office (master users)."""
        identity = self._authenticate(request)
        fields = wire(objects.CommunityRequest().load(json_body(request)))
        made = self.directory.create_community(identity, fields,
                                               idempotency_key=idempotency_key(request))
        return 201, schemas.CommunityView().dump(made)

    @api("PATCH", "/v1/communities/<string:community_id>",
         request=objects.CommunityRequest(partial=True), answer=schemas.CommunityView,
         errors=CHANGE)
    def update_community(self, request, community_id):
        """Change a community (manage_directory there; moving it to another office: master
        users)."""
        identity = self._authenticate(request)
        fields = wire(objects.CommunityRequest(partial=True).load(json_body(request)))
        return schemas.CommunityView().dump(
            self.directory.update_community(identity, community_id, fields))

    @api("GET", "/v1/communities/<string:community_id>/units", query=schemas.ListQuery,
         answer=objects.UnitPage, errors=(403, 404, 422))
    def list_units(self, request, community_id):
        """Units of a community (a resident: their own)."""
        identity = self._authenticate(request)
        query = schemas.ListQuery().load(request.args.to_dict())
        return objects.UnitPage().dump(self.directory.list_units(identity, community_id,
                                                                 **query))

    @api("POST", "/v1/communities/<string:community_id>/units", request=objects.UnitRequest,
         answer=objects.UnitView, status=201, errors=CHANGE, idempotency_key="accepted",
         follow=(("GET", "/v1/units/{unit_id}", "unit_id"),
                 ("PATCH", "/v1/units/{unit_id}", "unit_id")))
    def create_unit(self, request, community_id):
        """Add a unit (manage_directory there)."""
        identity = self._authenticate(request)
        fields = wire(objects.UnitRequest().load(json_body(request)))
        made = self.directory.create_unit(identity, community_id, fields,
                                          idempotency_key=idempotency_key(request))
        return 201, objects.UnitView().dump(made)

    @api("GET", "/v1/units/<string:unit_id>", answer=objects.UnitView, errors=(403, 404))
    def get_unit(self, request, unit_id):
        """A unit."""
        identity = self._authenticate(request)
        return objects.UnitView().dump(self.directory.get_unit(identity, unit_id))

    @api("PATCH", "/v1/units/<string:unit_id>", request=objects.UnitRequest(partial=True),
         answer=objects.UnitView, errors=CHANGE)
    def update_unit(self, request, unit_id):
        """Relabel a unit."""
        identity = self._authenticate(request)
        fields = wire(objects.UnitRequest(partial=True).load(json_body(request)))
        return objects.UnitView().dump(self.directory.update_unit(identity, unit_id, fields))
