"""Routes of CSV imports of residents and units. Mixed into GatewayService: the gateway reads
the upload and hands it to directory, which checks who may import, keeps the file as a job and
answers at once; the caller follows the job at its Location."""

import base64

from contracts import api as schemas
from gateway.http import api, csv_upload, json_response


class ImportRoutes:
    @api("POST", "/v1/communities/<string:community_id>/imports", body="upload",
         query=schemas.ImportQuery, answer=schemas.ImportView, status=202, location=True,
         answer_description="the job, pending; follow it at Location",
         errors=(403, 404, 422), idempotency_key="accepted",
         follow=(("GET", "/v1/imports/{import_id}", "import_id"),),
         description="Columns: unit, first_name, last_name (required); email, phone, kind "
                     "(owner or tenant), move_in (YYYY-MM-DD), language, external_id. Every "
                     "row is validated; a file with errors imports nothing unless "
                     "import_valid_rows=true. Importing the same file again changes nothing.")
    def start_import(self, request, community_id):
        """Import residents and units from a CSV file (manage_directory there)."""
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

    @api("GET", "/v1/imports/<string:import_id>", answer=schemas.ImportView,
         errors=(403, 404))
    def get_import(self, request, import_id):
        """An import: status, progress, counts and every error with its line."""
        identity = self._authenticate(request)
        return schemas.ImportView().dump(self.directory.get_import(identity, import_id))


def _max_bytes(config):
    return int((config.get("directory") or {}).get("import_max_bytes",
                                                   schemas.IMPORT_MAX_BYTES))
