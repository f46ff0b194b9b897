"""Routes for groups: saved audiences of one community (residents and units). Mixed into
GatewayService; directory decides who may see or change each group."""

from werkzeug.wrappers import Response

from contracts import directory_api as objects
from gateway.http import api, idempotency_key, json_body, wire


class GroupRoutes:
    @api("GET", "/v1/groups", query=objects.GroupListQuery, answer=objects.GroupPage,
         errors=(403, 404, 422))
    def list_groups(self, request):
        """Groups of the communities the caller may see (staff)."""
        identity = self._authenticate(request)
        query = objects.GroupListQuery().load(request.args.to_dict())
        return objects.GroupPage().dump(self.directory.list_groups(identity, **query))

    @api("POST", "/v1/groups", request=objects.GroupRequest, answer=objects.GroupView,
         status=201, errors=(403, 404, 409, 422), idempotency_key="accepted",
         follow=(("GET", "/v1/groups/{group_id}", "group_id"),
                 ("PATCH", "/v1/groups/{group_id}", "group_id"),
                 ("DELETE", "/v1/groups/{group_id}", "group_id")))
    def create_group(self, request):
        """Save a group: a named list of one community's residents and units."""
        identity = self._authenticate(request)
        fields = wire(objects.GroupRequest().load(json_body(request)))
        made = self.directory.create_group(identity, fields,
                                           idempotency_key=idempotency_key(request))
        return 201, objects.GroupView().dump(made)

    @api("GET", "/v1/groups/<string:group_id>", answer=objects.GroupView, errors=(403, 404))
    def get_group(self, request, group_id):
        """A group and its members."""
        identity = self._authenticate(request)
        return objects.GroupView().dump(self.directory.get_group(identity, group_id))

    @api("PATCH", "/v1/groups/<string:group_id>", request=objects.GroupUpdate,
         answer=objects.GroupView, errors=(403, 404, 409, 422))
    def update_group(self, request, group_id):
        """Rename a group or replace its members (a list given replaces the old one)."""
        identity = self._authenticate(request)
        fields = wire(objects.GroupUpdate().load(json_body(request)))
        return objects.GroupView().dump(self.directory.update_group(identity, group_id,
                                                                    fields))

    @api("DELETE", "/v1/groups/<string:group_id>", status=204, errors=(403, 404))
    def delete_group(self, request, group_id):
        """Delete a group (sends made to it keep their deliveries)."""
        identity = self._authenticate(request)
        self.directory.delete_group(identity, group_id)
        return Response(status=204)
