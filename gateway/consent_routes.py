"""Routes of consent: communication categories and the organization's consent settings (the
answer to HELP texts). Mixed into GatewayService; consent decides who may see or change
them."""

from werkzeug.wrappers import Response

from contracts import consent_api as schemas
from gateway.http import api, json_body

CHANGE = (403, 404, 409, 422)
# where a created category is followed (see openapi.links)
CATEGORY_ROUTES = tuple((method, "/v1/consent/categories/{category_id}" + tail, "category_id")
                        for method, tail in (("GET", ""), ("PATCH", ""), ("DELETE", ""),
                                             ("POST", "/archive"), ("GET", "/changes"),
                                             ("GET", "/requests"), ("POST", "/requests"),
                                             ("POST", "/consent-imports")))


class ConsentRoutes:
    @api("GET", "/v1/consent/categories", query=schemas.CategoryListQuery,
         answer=schemas.CategoryPage, errors=(422,))
    def list_categories(self, request):
        """Categories of the organization."""
        identity = self._authenticate(request)
        query = schemas.CategoryListQuery().load(request.args.to_dict())
        return schemas.CategoryPage().dump(self.consent.list_categories(identity, **query))

    @api("POST", "/v1/consent/categories", request=schemas.CategoryRequest,
         answer=schemas.CategoryView, status=201, errors=CHANGE, follow=CATEGORY_ROUTES)
    def create_category(self, request):
        """Add a category (manage_consent_categories)."""
        identity = self._authenticate(request)
        body = schemas.CategoryRequest().load(json_body(request))
        made = self.consent.create_category(identity, identity["organization_id"],
                                            body.pop("name"), body.pop("mode"), **body)
        return 201, schemas.CategoryView().dump(made)

    @api("GET", "/v1/consent/categories/<string:category_id>", answer=schemas.CategoryView,
         errors=(404,))
    def get_category(self, request, category_id):
        """A category."""
        identity = self._authenticate(request)
        return schemas.CategoryView().dump(self.consent.get_category(identity, category_id))

    @api("PATCH", "/v1/consent/categories/<string:category_id>",
         request=schemas.CategoryRequest(partial=True), answer=schemas.CategoryView,
         errors=CHANGE)
    def update_category(self, request, category_id):
        """Change a category; every change is logged."""
        identity = self._authenticate(request)
        changes = schemas.CategoryRequest(partial=True).load(json_body(request))
        return schemas.CategoryView().dump(
            self.consent.update_category(identity, category_id, changes))

    @api("DELETE", "/v1/consent/categories/<string:category_id>", status=204,
         errors=(403, 404, 409))
    def delete_category(self, request, category_id):
        """Delete a category no communication used (else archive it)."""
        identity = self._authenticate(request)
        self.consent.delete_category(identity, category_id)
        return Response(status=204)

    @api("POST", "/v1/consent/categories/<string:category_id>/archive",
         request=schemas.ArchiveRequest, request_required=False, answer=schemas.CategoryView,
         errors=CHANGE)
    def archive_category(self, request, category_id):
        """Archive (or restore with archived=false): history stays, new sends are refused."""
        identity = self._authenticate(request)
        body = schemas.ArchiveRequest().load(json_body(request) if request.get_data() else {})
        return schemas.CategoryView().dump(
            self.consent.archive_category(identity, category_id, body["archived"]))

    @api("GET", "/v1/consent/categories/<string:category_id>/changes",
         answer=schemas.CategoryChanges, errors=(403, 404))
    def category_changes(self, request, category_id):
        """Who changed what and when (manage_consent_categories)."""
        identity = self._authenticate(request)
        return schemas.CategoryChanges().dump(
            self.consent.category_changes(identity, category_id))

    @api("GET", "/v1/consent/settings", answer=schemas.ConsentSettingsView, errors=(403,))
    def get_consent_settings(self, request):
        """The organization's consent settings: the answer to HELP texts."""
        identity = self._authenticate(request)
        return schemas.ConsentSettingsView().dump(self.consent.get_settings(identity))

    @api("PUT", "/v1/consent/settings", request=schemas.ConsentSettingsRequest,
         answer=schemas.ConsentSettingsView, errors=(403, 422))
    def set_consent_settings(self, request):
        """Set the answer to HELP texts (manage_consent_categories)."""
        identity = self._authenticate(request)
        body = schemas.ConsentSettingsRequest().load(json_body(request))
        return schemas.ConsentSettingsView().dump(self.consent.set_settings(identity, body))
