"""Routes of a resident's channel preferences, consent history and proof of consent (CSV).
Mixed into GatewayService; consent decides who may see or change them."""



from contracts import preference_api as schemas
from gateway.http import api, client_address, csv_download, json_body


class PreferenceRoutes:
    @api("GET", "/v1/residents/<string:resident_id>/preferences")
    def get_preferences(self, request, resident_id):
        identity = self._authenticate(request)
        return schemas.PreferencesView().dump(
            self.consent.get_preferences(identity, resident_id))

    @api("PUT", "/v1/residents/<string:resident_id>/preferences")
    def set_preferences(self, request, resident_id):
        identity = self._authenticate(request)
        body = schemas.PreferencesRequest().load(json_body(request))
        address = client_address(request, self.config["gateway"].get("trusted_proxies") or ())
        return schemas.PreferencesView().dump(self.consent.set_preferences(
            identity, resident_id, body["channels"], body["wording"], ip=address))

    @api("GET", "/v1/residents/<string:resident_id>/consents")
    def consent_history(self, request, resident_id):
        identity = self._authenticate(request)
        return schemas.ConsentHistory().dump(
            self.consent.consent_history(identity, resident_id))

    @api("GET", "/v1/residents/<string:resident_id>/consents.csv")
    def export_resident_consents(self, request, resident_id):
        identity = self._authenticate(request)
        return csv_download(self.consent.export_consents(identity, resident_id=resident_id),
                            "consents", resident_id)

    @api("GET", "/v1/communities/<string:community_id>/consents.csv")
    def export_community_consents(self, request, community_id):
        identity = self._authenticate(request)
        return csv_download(
            self.consent.export_consents(identity, community_id=community_id), "consents",
            community_id)
