"""Routes of consent: communication categories and the organization's consent settings (the
answer to HELP texts). Mixed into GatewayService; consent decides who may see or change
them."""

from werkzeug.wrappers import Response

from contracts import consent_api as schemas
from gateway.http import api, json_body


class ConsentRoutes:
    @api("GET", "/v1/consent/categories")
    def list_categories(self, request):
        identity = self._authenticate(request)
        query = schemas.CategoryListQuery().load(request.args.to_dict())
        return schemas.CategoryPage().dump(self.consent.list_categories(identity, **query))

    @api("POST", "/v1/consent/categories")
    def create_category(self, request):
        identity = self._authenticate(request)
        body = schemas.CategoryRequest().load(json_body(request))
        made = self.consent.create_category(identity, identity["organization_id"],
                                            body.pop("name"), body.pop("mode"), **body)
        return 201, schemas.CategoryView().dump(made)

    @api("GET", "/v1/consent/categories/<string:category_id>")
    def get_category(self, request, category_id):
        identity = self._authenticate(request)
        return schemas.CategoryView().dump(self.consent.get_category(identity, category_id))

    @api("PATCH", "/v1/consent/categories/<string:category_id>")
    def update_category(self, request, category_id):
        identity = self._authenticate(request)
        changes = schemas.CategoryRequest().load(json_body(request), partial=True)
        return schemas.CategoryView().dump(
            self.consent.update_category(identity, category_id, changes))

    @api("DELETE", "/v1/consent/categories/<string:category_id>")
    def delete_category(self, request, category_id):
        identity = self._authenticate(request)
        self.consent.delete_category(identity, category_id)
        return Response(status=204)

    @api("POST", "/v1/consent/categories/<string:category_id>/archive")
    def archive_category(self, request, category_id):
        identity = self._authenticate(request)
        body = schemas.ArchiveRequest().load(json_body(request) if request.get_data() else {})
        return schemas.CategoryView().dump(
            self.consent.archive_category(identity, category_id, body["archived"]))

    @api("GET", "/v1/consent/categories/<string:category_id>/changes")
    def category_changes(self, request, category_id):
        identity = self._authenticate(request)
        return schemas.CategoryChanges().dump(
            self.consent.category_changes(identity, category_id))

    @api("GET", "/v1/consent/settings")
    def get_consent_settings(self, request):
        identity = self._authenticate(request)
        return schemas.ConsentSettingsView().dump(self.consent.get_settings(identity))

    @api("PUT", "/v1/consent/settings")
    def set_consent_settings(self, request):
        identity = self._authenticate(request)
        body = schemas.ConsentSettingsRequest().load(json_body(request))
        return schemas.ConsentSettingsView().dump(self.consent.set_settings(identity, body))
