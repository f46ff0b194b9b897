"""Routes for groups: saved audiences of one community (residents and units). Mixed into
GatewayService; directory decides who may see or change each group."""

from werkzeug.wrappers import Response

from contracts import directory_api as objects
from gateway.http import api, idempotency_key, json_body, wire


class GroupRoutes:
    @api("GET", "/v1/groups")
    def list_groups(self, request):
        identity = self._authenticate(request)
        query = objects.GroupListQuery().load(request.args.to_dict())
        return objects.GroupPage().dump(self.directory.list_groups(identity, **query))

    @api("POST", "/v1/groups")
    def create_group(self, request):
        identity = self._authenticate(request)
        fields = wire(objects.GroupRequest().load(json_body(request)))
        made = self.directory.create_group(identity, fields,
                                           idempotency_key=idempotency_key(request))
        return 201, objects.GroupView().dump(made)

    @api("GET", "/v1/groups/<string:group_id>")
    def get_group(self, request, group_id):
        identity = self._authenticate(request)
        return objects.GroupView().dump(self.directory.get_group(identity, group_id))

    @api("PATCH", "/v1/groups/<string:group_id>")
    def update_group(self, request, group_id):
        identity = self._authenticate(request)
        fields = wire(objects.GroupUpdate().load(json_body(request)))
        return objects.GroupView().dump(self.directory.update_group(identity, group_id,
                                                                    fields))

    @api("DELETE", "/v1/groups/<string:group_id>")
    def delete_group(self, request, group_id):
        identity = self._authenticate(request)
        self.directory.delete_group(identity, group_id)
        return Response(status=204)
