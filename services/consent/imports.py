"""Importing consent collected before Townhall (paper forms, a previous system) with its
evidence, so the proof export shows it beside the acts recorded here.

Mixed into ConsentService. Staff with manage_consent_categories import a CSV for one of
their organization's categories that is not archived, about residents of communities where
they hold that permission. Every row is checked first (services/consent/import_rows.py) and
its resident asked of directory, a chunk of ids per call; a file with any error imports
nothing. A good file is appended in one transaction, in file order — one act per row, method
`import` — with one `consents_recorded` event per EVENT_BATCH acts, so a later line about
the same resident, category and channel wins, as it would have had it been recorded later.
"""

import hashlib

from contracts.consent_api import CONSENT_IMPORT_MAX_BYTES
from contracts.errors import InvalidRequest, NotFound
from servicekit import csv_rows, idempotency
from servicekit.access import Caller, new_id
from servicekit.db import utcnow
from servicekit.entrypoints import rpc
from services.consent.categories import owned_category
from services.consent.import_rows import read_consent_rows, rejection, resident_errors
from services.consent.models import ConsentEvent

METHOD = "import"
LOOKUP_CHUNK = 500        # resident ids per directory call
RESIDENT_PAGE = 200       # directory's largest page
EVENT_BATCH = 1_000       # acts per consents_recorded event
FILENAME_LIMIT = 255


class ConsentImports:
    @rpc
    def import_consents(self, identity, category_id, data_base64, filename=None,
                        idempotency_key=None):
        """Append one act per row of a CSV file, all of them or none: {imported,
        category_id, filename}."""
        caller = Caller.of(identity)
        with self.db.read() as session:
            category = owned_category(session, caller, category_id)
        caller.require("manage_consent_categories")
        if filename is not None and not (isinstance(filename, str)
                                         and 0 < len(filename) <= FILENAME_LIMIT):
            raise InvalidRequest(f"must be 1 to {FILENAME_LIMIT} characters", "filename")
        idempotency.check_key(idempotency_key)
        scope = idempotency.caller_scope(caller)
        asked = {"import_consents": [category_id, filename, hashlib.sha256(
            (data_base64 or "").encode()).hexdigest()]}
        if idempotency_key:
            # the same file again answers what it answered, without asking directory again
            with self.db.read() as session:
                previous = idempotency.replay(session, self.db.metadata, scope,
                                              idempotency_key, idempotency.request_hash(asked))
            if previous is not None:
                return previous
        if category.archived_at is not None:
            raise InvalidRequest(f"category {category_id} is archived; it takes no new "
                                 "consent", "category_id")
        now = utcnow()
        parsed = read_consent_rows(csv_rows.uploaded(data_base64, CONSENT_IMPORT_MAX_BYTES), now)
        errors = list(parsed.errors)
        if parsed.rows:
            communities = self._residents_of_organization(
                identity, caller.organization_id, sorted({r.resident_id for r in parsed.rows}))
            errors.extend(resident_errors(
                parsed.rows, communities,
                lambda community_id: caller.may("manage_consent_categories", community_id)))
        if errors:
            raise InvalidRequest(rejection(errors), "file")

        def work(uow):
            evidence = {"file": filename, "imported_by": caller.actor_id}
            for row in parsed.rows:
                uow.session.add(ConsentEvent(
                    id=new_id("cev"), organization_id=category.organization_id,
                    resident_id=row.resident_id, category_id=category_id,
                    channel=row.channel, action=row.action, method=METHOD,
                    recorded_by=caller.actor_id, occurred_at=now,
                    evidence=dict(evidence, wording=row.wording, address=row.address,
                                  source=row.source, obtained_at=row.obtained_at,
                                  line=row.line)))
            uow.session.flush()   # in file order: a later line is a later act
            acts = [{"resident_id": row.resident_id, "channel": row.channel,
                     "category_id": category_id, "action": row.action, "method": METHOD}
                    for row in parsed.rows]
            for start in range(0, len(acts), EVENT_BATCH):
                uow.emit("consents_recorded", {"items": acts[start:start + EVENT_BATCH]},
                         organization_id=category.organization_id)
            return {"imported": len(parsed.rows), "category_id": category_id,
                    "filename": filename}

        return idempotency.once(self.db, scope, idempotency_key, asked, work)

    def _residents_of_organization(self, identity, organization_id, resident_ids):
        """{resident id: community id} of the ids directory knows in the caller's
        organization: one call per chunk of ids. Directory names only the first unknown id
        of a chunk, so a file with unknown ones is checked against the organization's
        residents instead, a page per call — every unknown is then named with its line, and
        the number of calls never grows with the rows of a file."""
        found = {}
        for start in range(0, len(resident_ids), LOOKUP_CHUNK):
            try:
                residents = self.directory.get_residents(
                    identity, resident_ids[start:start + LOOKUP_CHUNK])
            except NotFound:
                return self._every_resident(organization_id)
            found.update((r["id"], r["community_id"]) for r in residents)
        return found

    def _every_resident(self, organization_id):
        asking = {"actor_type": "system", "actor_id": "consent",
                  "organization_id": organization_id, "scopes": {"*": "*"}}
        found, cursor = {}, None
        while True:
            page = self.directory.list_residents(asking, include_moved_out=True,
                                                 cursor=cursor, limit=RESIDENT_PAGE)
            found.update((r["id"], r["community_id"]) for r in page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return found


