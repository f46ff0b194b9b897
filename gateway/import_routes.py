"""Routes of CSV imports of residents and units. Mixed into GatewayService: the gateway reads
the upload and hands it to directory, which checks who may import, keeps the file as a job and
answers at once; the caller follows the job at its Location."""

import base64

from contracts import api as schemas
from contracts.errors import InvalidRequest
from gateway.http import api, json_response

# multipart's boundaries and headers around the file; directory enforces the exact limit
ENVELOPE_BYTES = 64 * 1024
CSV_TYPES = ("text/csv", "application/csv")


class ImportRoutes:
    @api("POST", "/v1/communities/<string:community_id>/imports")
    def start_import(self, request, community_id):
        identity = self._authenticate(request)
        query = schemas.ImportQuery().load(request.args.to_dict())
        data, filename = _upload(request, _max_bytes(self.config))
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


def _upload(request, max_bytes):
    """The file's bytes and name: the raw body (text/csv) or the `file` field of a form."""
    limit = max_bytes + ENVELOPE_BYTES
    if (request.content_length or 0) > limit:
        # refused before reading: a body this large is not read into memory at all
        raise InvalidRequest(f"the file is larger than the limit of {max_bytes} bytes; "
                             "split it into smaller files", "file")
    request.max_content_length = limit
    if request.mimetype in CSV_TYPES:
        return request.get_data(), None
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise InvalidRequest("a multipart upload needs the CSV in a field named file",
                                 "file")
        return upload.read(), upload.filename or None
    raise InvalidRequest("send the CSV as the body with Content-Type: text/csv, or as the "
                         "file field of multipart/form-data", "Content-Type")
