"""Routes of a resident's channel preferences, consent history and proof of consent (CSV).
Mixed into GatewayService; consent decides who may see or change them."""



from contracts import preference_api as schemas
from gateway.declaration import CSV
from gateway.http import api, client_address, csv_download, json_body


class PreferenceRoutes:
    @api("GET", "/v1/residents/<string:resident_id>/preferences",
         answer=schemas.PreferencesView, errors=(403, 404))
    def get_preferences(self, request, resident_id):
        """Channel preferences (email, text, voice); never set: on."""
        identity = self._authenticate(request)
        return schemas.PreferencesView().dump(
            self.consent.get_preferences(identity, resident_id))

    @api("PUT", "/v1/residents/<string:resident_id>/preferences",
         request=schemas.PreferencesRequest, answer=schemas.PreferencesView,
         errors=(403, 404, 422))
    def set_preferences(self, request, resident_id):
        """Turn channels on or off, with the words shown (the resident, or staff with
        manage_directory there); every change is kept as evidence."""
        identity = self._authenticate(request)
        body = schemas.PreferencesRequest().load(json_body(request))
        address = client_address(request, self.config["gateway"].get("trusted_proxies") or ())
        return schemas.PreferencesView().dump(self.consent.set_preferences(
            identity, resident_id, body["channels"], body["wording"], ip=address))

    @api("GET", "/v1/residents/<string:resident_id>/consents", answer=schemas.ConsentHistory,
         errors=(403, 404))
    def consent_history(self, request, resident_id):
        """Every grant and withdrawal with its evidence, and the state per category and
        channel (the resident, or staff who see them)."""
        identity = self._authenticate(request)
        return schemas.ConsentHistory().dump(
            self.consent.consent_history(identity, resident_id))

    @api("GET", "/v1/residents/<string:resident_id>/consents.csv", answer=CSV,
         errors=(403, 404))
    def export_resident_consents(self, request, resident_id):
        """Proof of consent of a resident (CSV)."""
        identity = self._authenticate(request)
        return csv_download(self.consent.export_consents(identity, resident_id=resident_id),
                            "consents", resident_id)

    @api("GET", "/v1/communities/<string:community_id>/consents.csv", answer=CSV,
         errors=(403, 404))
    def export_community_consents(self, request, community_id):
        """Proof of consent of every resident of a community (CSV; manage_consent_categories
        or manage_directory there)."""
        identity = self._authenticate(request)
        return csv_download(
            self.consent.export_consents(identity, community_id=community_id), "consents",
            community_id)
