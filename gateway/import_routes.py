"""Routes of CSV imports of residents and units. Mixed into GatewayService: the gateway reads
the upload and hands it to directory, which checks who may import, keeps the file as a job and
answers at once; the caller follows the job at its Location."""

import base64

from contracts import api as schemas
from gateway.http import api, csv_upload, json_response


class ImportRoutes:
    @api("POST", "/v1/communities/<string:community_id>/imports")
    def start_import(self, request, community_id):
        identity = self._authenticate(request)
        query = schemas.ImportQuery().load(request.args.to_dict())
        data, filename = csv_upload(request, _max_bytes(self.config))
        job = self.directory.start_import(
            identity, community_id, base64.b64encode(data).decode(),
            filename=query.get("filename") or filename,
            import_valid_rows=query["import_valid_rows"], default_region=query.get("region"),
            idempotency_key=request.headers.get("Idempotency-Key"))
        return json_response(schemas.ImportView().dump(job), 202,
                             headers={"Location": job["links"]["self"]})

    @api("GET", "/v1/imports/<string:import_id>")
    def get_import(self, request, import_id):
        identity = self._authenticate(request)
        return schemas.ImportView().dump(self.directory.get_import(identity, import_id))


def _max_bytes(config):
    return int((config.get("directory") or {}).get("import_max_bytes",
                                                   schemas.IMPORT_MAX_BYTES))
