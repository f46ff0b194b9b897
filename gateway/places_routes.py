"""Routes for offices, communities and units. Mixed into GatewayService; directory decides
who may see or change each object."""

from contracts import api as schemas
from contracts import directory_api as objects
from gateway.http import api, idempotency_key, json_body, wire


class PlacesRoutes:
    @api("GET", "/v1/organization")
    def get_organization(self, request):
        identity = self._authenticate(request)
        return objects.OrganizationView().dump(self.directory.get_organization(identity))

    @api("PATCH", "/v1/organization")
    def update_organization(self, request):
        identity = self._authenticate(request)
        fields = wire(objects.OrganizationUpdate().load(json_body(request)))
        return objects.OrganizationView().dump(self.directory.update_organization(identity,
                                                                                  fields))

    @api("GET", "/v1/offices")
    def list_offices(self, request):
        identity = self._authenticate(request)
        query = schemas.ListQuery().load(request.args.to_dict())
        return objects.OfficePage().dump(self.directory.list_offices(identity, **query))

    @api("POST", "/v1/offices")
    def create_office(self, request):
        identity = self._authenticate(request)
        fields = wire(objects.OfficeRequest().load(json_body(request)))
        made = self.directory.create_office(identity, fields,
                                            idempotency_key=idempotency_key(request))
        return 201, objects.OfficeView().dump(made)

    @api("GET", "/v1/offices/<string:office_id>")
    def get_office(self, request, office_id):
        identity = self._authenticate(request)
        return objects.OfficeView().dump(self.directory.get_office(identity, office_id))

    @api("PATCH", "/v1/offices/<string:office_id>")
    def update_office(self, request, office_id):
        identity = self._authenticate(request)
        fields = wire(objects.OfficeRequest().load(json_body(request), partial=True))
        return objects.OfficeView().dump(self.directory.update_office(identity, office_id,
                                                                      fields))

    @api("POST", "/v1/communities")
    def create_community(self, request):
        identity = self._authenticate(request)
        fields = wire(objects.CommunityRequest().load(json_body(request)))
        made = self.directory.create_community(identity, fields,
                                               idempotency_key=idempotency_key(request))
        return 201, schemas.CommunityView().dump(made)

    @api("PATCH", "/v1/communities/<string:community_id>")
    def update_community(self, request, community_id):
        identity = self._authenticate(request)
        fields = wire(objects.CommunityRequest().load(json_body(request), partial=True))
        return schemas.CommunityView().dump(
            self.directory.update_community(identity, community_id, fields))

    @api("GET", "/v1/communities/<string:community_id>/units")
    def list_units(self, request, community_id):
        identity = self._authenticate(request)
        query = schemas.ListQuery().load(request.args.to_dict())
        return objects.UnitPage().dump(self.directory.list_units(identity, community_id,
                                                                 **query))

    @api("POST", "/v1/communities/<string:community_id>/units")
    def create_unit(self, request, community_id):
        identity = self._authenticate(request)
        fields = wire(objects.UnitRequest().load(json_body(request)))
        made = self.directory.create_unit(identity, community_id, fields,
                                          idempotency_key=idempotency_key(request))
        return 201, objects.UnitView().dump(made)

    @api("GET", "/v1/units/<string:unit_id>")
    def get_unit(self, request, unit_id):
        identity = self._authenticate(request)
        return objects.UnitView().dump(self.directory.get_unit(identity, unit_id))

    @api("PATCH", "/v1/units/<string:unit_id>")
    def update_unit(self, request, unit_id):
        identity = self._authenticate(request)
        fields = wire(objects.UnitRequest().load(json_body(request), partial=True))
        return objects.UnitView().dump(self.directory.update_unit(identity, unit_id, fields))
