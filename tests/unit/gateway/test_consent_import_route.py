"""POST /v1/consent/categories/{id}/consent-imports: the gateway reads the CSV (the body, or
the file field of a form) like resident imports do and hands it to consent with its name and
the Idempotency-Key; a body over the limit is refused before it is read."""

import base64
import io

import pytest
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder

from contracts.errors import InvalidRequest, PayloadTooLarge
from gateway import consent_import_routes
from gateway.service import GatewayService

IDENTITY = {"actor_type": "api_key", "actor_id": "key_1", "organization_id": "org_1"}
CSV = b"resident_id,channel,action,obtained_at,wording\nres_1,sms,grant,2024-03-01,Yes.\n"


class FakeDirectory:
    def authenticate(self, key):
        return IDENTITY


class FakeConsent:
    def __init__(self):
        self.asked = []

    def import_consents(self, identity, category_id, data_base64, filename=None,
                        idempotency_key=None):
        self.asked.append((identity, category_id, base64.b64decode(data_base64), filename,
                           idempotency_key))
        return {"imported": 1, "category_id": category_id, "filename": filename}


@pytest.fixture
def consent():
    return FakeConsent()


@pytest.fixture
def gateway(consent):
    return worker_factory(GatewayService, directory=FakeDirectory(), consent_imports=consent,
                          config={})


def post(gateway, query="", headers=None, **body):
    request = EnvironBuilder(method="POST", headers={"Authorization": "Bearer th_key",
                                                     **(headers or {})},
                             path="/v1/consent/categories/cat_news/consent-imports",
                             query_string=query, **body).get_request()
    return gateway.import_consents(request, "cat_news")


def test_the_csv_body_goes_to_consent_with_its_name_and_idempotency_key(gateway, consent):
    answer = post(gateway, query="filename=forms-2024.csv", data=CSV,
                  content_type="text/csv", headers={"Idempotency-Key": "k-1"})
    assert answer == {"imported": 1, "category_id": "cat_news", "filename": "forms-2024.csv"}
    assert consent.asked == [(IDENTITY, "cat_news", CSV, "forms-2024.csv", "k-1")]


def test_a_form_upload_keeps_the_files_own_name(gateway, consent):
    post(gateway, data={"file": (io.BytesIO(CSV), "paper.csv")},
         content_type="multipart/form-data")
    assert consent.asked[0][2:4] == (CSV, "paper.csv")


def test_a_body_over_the_limit_is_refused_before_consent_is_asked(gateway, consent,
                                                                  monkeypatch):
    monkeypatch.setattr(consent_import_routes, "CONSENT_IMPORT_MAX_BYTES", 10)
    with pytest.raises(PayloadTooLarge, match="larger than the limit of 10 bytes"):
        post(gateway, data=b"x" * (64 * 1024 + 11), content_type="text/csv")
    with pytest.raises(InvalidRequest, match="Content-Type: text/csv"):
        post(gateway, data=CSV, content_type="application/json")
    assert consent.asked == []
