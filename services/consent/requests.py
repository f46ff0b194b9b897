"""Consent requests ("Actions → Send consent request", seed 004): an email with a signed
confirm link to every resident of chosen communities, for a `request`-mode category.

Mixed into ConsentService. Staff with manage_consent_categories send them; residents who
already answered for the category on email (granted or withdrew) are skipped and counted,
as are those without an email. One transaction writes the request, its recipients and
their links and the `consent_requests_issued` batches that messaging mails. The public
confirm page asks consent with the link's token as the only authority: opening it records
nothing; pressing its button records one express grant with the words shown.
"""

from datetime import timedelta

from sqlalchemy import func, select, update

from contracts.errors import Gone, InvalidRequest, NotFound
from servicekit import idempotency
from servicekit.access import Caller, new_id
from servicekit.consumers import on_event
from servicekit.db import utcnow
from servicekit.entrypoints import rpc
from servicekit.pagination import paginate
from services.consent import tokens
from services.consent.categories import owned_category
from services.consent.models import (
    Category,
    ConsentEvent,
    ConsentRequest,
    ConsentRequestRecipient,
    Link,
)

MAX_COMMUNITIES = 50
RESIDENT_PAGE = 200      # directory's largest page
EMAIL_BATCH = 100        # emails per consent_requests_issued event
CHUNK = 500              # resident ids per IN (...) query
DEFAULT_CONFIRM_DAYS = 30
STATUSES = ("skipped_answered", "skipped_no_email", "queued", "sent", "failed", "confirmed")
METHOD = "confirm_link"


class ConsentRequests:
    @rpc
    def create_consent_request(self, identity, category_id, community_ids,
                               idempotency_key=None):
        """Queue one email per resident who has not answered yet; 202-style answer with the
        request's counts and where to follow it."""
        caller = Caller.of(identity)
        community_ids = _checked_communities(community_ids)
        with self.db.read() as session:
            category = owned_category(session, caller, category_id)
        caller.require("manage_consent_categories")
        _check_requestable(category)
        idempotency.check_key(idempotency_key)
        scope = idempotency.caller_scope(caller)
        asked = {"create_consent_request": [category_id, community_ids]}
        if idempotency_key:
            with self.db.read() as session:
                previous = idempotency.replay(session, self.db.metadata, scope, idempotency_key,
                                              idempotency.request_hash(asked))
            if previous is not None:
                return previous
        for community_id in community_ids:
            self.directory.get_community(identity, community_id)   # 404 unless the caller's
            caller.require("manage_consent_categories", community_id)
        residents = self._residents_of(identity, community_ids)
        organization = self.directory.get_organization(_as_consent(caller.organization_id))

        def work(uow):
            return self._issue(uow, caller, category, community_ids, residents,
                               organization["name"])

        return idempotency.once(self.db, scope, idempotency_key, asked, work)

    @rpc
    def get_consent_request(self, identity, request_id):
        caller = Caller.of(identity)
        with self.db.read() as session:
            row = session.get(ConsentRequest, request_id)
            if row is None:
                raise NotFound(f"consent request {request_id} does not exist", "request_id")
            caller.check_owner(row.organization_id, "consent request", request_id)
            caller.require("manage_consent_categories")
            counts = _counts(session, [row.id])
        return request_view(row, counts.get(row.id, {}))

    @rpc
    def list_consent_requests(self, identity, category_id, cursor=None, limit=None):
        caller = Caller.of(identity)
        with self.db.read() as session:
            owned_category(session, caller, category_id)
            caller.require("manage_consent_categories")
            query = select(ConsentRequest).where(ConsentRequest.category_id == category_id)
            rows, next_cursor = paginate(session, query, ConsentRequest.id, cursor, limit)
            counts = _counts(session, [r.id for r in rows])
        return {"items": [request_view(r, counts.get(r.id, {})) for r in rows],
                "next_cursor": next_cursor}

    @on_event("messaging", "consent_requests_mailed")
    def note_consent_requests_mailed(self, event, uow):
        """What became of a batch of emails; the request is done when none is queued."""
        data = event.data
        outcomes = {i["resident_id"]: i for i in data["items"]}
        session = uow.session
        rows = session.scalars(select(ConsentRequestRecipient).where(
            ConsentRequestRecipient.request_id == data["request_id"],
            ConsentRequestRecipient.resident_id.in_(list(outcomes)),
            ConsentRequestRecipient.status == "queued")).all()
        now = utcnow()
        for row in rows:   # a confirmation that came first is never undone
            outcome = outcomes[row.resident_id]
            row.status, row.updated_at = outcome["status"], now
            row.reason = (outcome.get("reason") or None) and outcome["reason"][:300]
        session.flush()
        _finish_if_done(session, data["request_id"])

    @rpc
    def describe_confirm(self, token):
        """What the public confirm page shows; no identity: the signed token is the
        authority. A link that cannot be used: InvalidRequest naming `token` (changed or
        unknown), Gone (expired; naming `category_id` when the category was archived)."""
        with self.db.read() as session:
            link, category = self._confirm_link(session, token)
        organization = self.directory.get_organization(_as_consent(link.organization_id))
        return confirm_view(link, category, organization["name"])

    @rpc
    def confirm(self, token, evidence=None):
        """Record the express consent of the link's resident, once: a second press answers
        that it was already given and records nothing."""
        evidence = dict(evidence or {})
        with self.db.read() as session:
            link, category = self._confirm_link(session, token)
        organization = self.directory.get_organization(_as_consent(link.organization_id))
        view = confirm_view(link, category, organization["name"])
        if view["confirmed"]:
            return dict(view, recorded=False)
        wording = view["wording"]
        now = utcnow()
        with self.db.unit_of_work() as uow:
            session = uow.session
            taken = session.execute(update(Link).where(
                Link.id == link.id, Link.used_at.is_(None), Link.expires_at > now)
                .values(used_at=now)).rowcount
            if taken:
                self._record_confirmation(uow, link, wording, evidence, now)
        if not taken:   # pressed twice at once, or expired meanwhile
            return dict(self.describe_confirm(token), recorded=False)
        return dict(view, confirmed=True, confirmed_at=now.isoformat(), recorded=True)

    def _record_confirmation(self, uow, link, wording, evidence, now):
        """One express grant with its evidence, its event, and the recipient confirmed."""
        session = uow.session
        session.add(ConsentEvent(
            id=new_id("cev"), organization_id=link.organization_id,
            resident_id=link.resident_id, category_id=link.category_id,
            channel=link.channel, action="grant", method=METHOD,
            recorded_by=f"resident:{link.resident_id}",
            evidence={"wording": wording_shown(wording),
                      "address": link.address, "ip": _short(evidence.get("ip"), 64),
                      "user_agent": _short(evidence.get("user_agent"), 300),
                      "link_id": link.id, "request_id": link.request_id}))
        uow.emit("consent_recorded", {"resident_id": link.resident_id,
                                      "channel": link.channel,
                                      "category_id": link.category_id, "action": "grant",
                                      "method": METHOD},
                 organization_id=link.organization_id)
        if link.request_id:
            session.execute(update(ConsentRequestRecipient).where(
                ConsentRequestRecipient.request_id == link.request_id,
                ConsentRequestRecipient.resident_id == link.resident_id)
                .values(status="confirmed", reason=None, updated_at=now))
            session.flush()
            _finish_if_done(session, link.request_id)

    # --- helpers ---------------------------------------------------------------------

    def _residents_of(self, identity, community_ids):
        """Every current resident of the communities: one directory call per page."""
        found = {}
        for community_id in community_ids:
            cursor = None
            while True:
                page = self.directory.list_residents(identity, community_id=community_id,
                                                     cursor=cursor, limit=RESIDENT_PAGE)
                for resident in page["items"]:
                    found.setdefault(resident["id"], resident)
                cursor = page.get("next_cursor")
                if not cursor:
                    break
        return list(found.values())

    def _issue(self, uow, caller, category, community_ids, residents, organization_name):
        session = uow.session
        now = utcnow()
        answered = _answered(session, category, [r["id"] for r in residents])
        request_id = new_id("crq")
        request = ConsentRequest(id=request_id, organization_id=category.organization_id,
                                 category_id=category.id, community_ids=community_ids,
                                 requested_by=caller.actor_id, status="sending",
                                 total=len(residents), created_at=now)
        session.add(request)
        config = self.config or {}
        secret = tokens.link_secret(config)
        days = int((config.get("consent") or {}).get("confirm_link_days")
                   or DEFAULT_CONFIRM_DAYS)
        public_url = ((config.get("gateway") or {}).get("public_url")
                      or "http://127.0.0.1:8000").rstrip("/")
        subject = request_subject(organization_name, category.name)
        recipients, links, items = [], [], []
        for resident in residents:
            email = resident.get("email")
            status = recipient_status(email, resident["id"] in answered)
            link_id = tokens.new_link_id("conf") if status == "queued" else None
            recipients.append(ConsentRequestRecipient(
                request_id=request_id, resident_id=resident["id"], email=email,
                status=status, link_id=link_id, updated_at=now))
            if link_id is None:
                continue
            links.append(Link(id=link_id, purpose="confirm",
                              organization_id=category.organization_id,
                              resident_id=resident["id"], category_id=category.id,
                              channel="email", address=email, request_id=request_id,
                              created_at=now, expires_at=now + timedelta(days=days)))
            url = f"{public_url}/c/{tokens.sign(secret, link_id)}"
            items.append({"resident_id": resident["id"], "email": email,
                          "body": request_body(organization_name, category.name,
                                               resident.get("name"), url, days)})
        session.add_all(recipients)
        session.add_all(links)
        if not items:
            request.status, request.finished_at = "done", now
        for start in range(0, len(items), EMAIL_BATCH):
            uow.emit("consent_requests_issued", {
                "request_id": request_id, "category_id": category.id, "subject": subject,
                "items": items[start:start + EMAIL_BATCH]},
                organization_id=category.organization_id)
        session.flush()
        counts = {}
        for row in recipients:
            counts[row.status] = counts.get(row.status, 0) + 1
        return request_view(request, counts)

    def _confirm_link(self, session, token):
        """(link, category) of a confirm token we signed and still honour."""
        try:
            link_id = tokens.verify(tokens.link_secret(self.config or {}), token)
        except tokens.BadToken:
            raise InvalidRequest(tokens.NOT_VALID, "token") from None
        link = session.get(Link, link_id)
        category = link and link.purpose == "confirm" and session.get(Category,
                                                                      link.category_id)
        if not category:
            raise InvalidRequest(tokens.NOT_VALID, "token")
        if link.used_at is None and category.archived_at is not None:
            raise Gone(f"category {category.id} is archived: the request is closed",
                       "category_id")
        if link.used_at is None and link.expires_at <= utcnow():
            raise Gone(f"this link expired on {link.expires_at:%Y-%m-%d}", "token")
        return link, category


# --- pure rules and words ------------------------------------------------------------

def recipient_status(email, answered):
    """Where one resident of a new request stands: who already answered for the category
    (granted or withdrew, on email) is not asked again; who has no email cannot be."""
    if answered:
        return "skipped_answered"
    if not email:
        return "skipped_no_email"
    return "queued"


def request_subject(organization_name, category_name):
    subject = " ".join(f"{organization_name}: may we email you {category_name}?".split())
    return subject if len(subject) <= 200 else subject[:199] + "…"


def request_body(organization_name, category_name, resident_name, confirm_url, days):
    """The email: who asks, for what, the link, and that doing nothing changes nothing."""
    greeting = f"Hello {resident_name}," if resident_name else "Hello,"
    return (f"{greeting}\n\n"
            f"{organization_name} would like to send you emails about \"{category_name}\". "
            "We need your permission first.\n\n"
            f"If you agree, open this link and press the button on the page:\n{confirm_url}\n\n"
            "If you do nothing, nothing changes: you will not get these emails. "
            f"The link works for {days} days. You can change your mind at any time.\n\n"
            f"{organization_name}\n")


def confirm_wording(organization_name, category_name, masked_email):
    """The exact words of the confirm page, kept as evidence of what the resident agreed to."""
    return {
        "question": f"May we email you about {category_name}?",
        "statement": (f"{organization_name} asks your permission to send emails about "
                      f"\"{category_name}\" to {masked_email}. Nothing changes unless you "
                      "press the button; you can withdraw at any time."),
        "button": f"Yes, email me {category_name}",
    }


def wording_shown(wording):
    """The words of the page as one line of evidence; the button's label in brackets."""
    return f"{wording['question']} {wording['statement']} [{wording['button']}]"


def mask_email(address):
    """a••••@example.com: enough for a resident to recognise, little for anyone else."""
    if not address or "@" not in address:
        return "your email address"
    local, domain = address.rsplit("@", 1)
    return f"{local[:1]}{'•' * max(len(local) - 1, 1)}@{domain}"


def confirm_view(link, category, organization_name):
    masked = mask_email(link.address)
    return {"valid": True, "organization_name": organization_name,
            "category_name": category.name, "email": masked,
            "confirmed": link.used_at is not None,
            "confirmed_at": link.used_at.isoformat() if link.used_at else None,
            "wording": confirm_wording(organization_name, category.name, masked)}


def request_view(row, counts):
    full = {status: int(counts.get(status, 0)) for status in STATUSES}
    return {"id": row.id, "category_id": row.category_id,
            "community_ids": list(row.community_ids), "status": row.status,
            "counts": dict(full, total=row.total), "requested_by": row.requested_by,
            "created_at": row.created_at.isoformat(),
            "finished_at": row.finished_at.isoformat() if row.finished_at else None,
            "links": {"self": f"/v1/consent/requests/{row.id}"}}


# --- queries -------------------------------------------------------------------------

def _check_requestable(category):
    if category.archived_at is not None:
        raise InvalidRequest(f"category {category.id} is archived; it takes no consent "
                             "requests", "category_id")
    if category.mode != "request":
        raise InvalidRequest(f"consent requests are sent for request-mode categories only; "
                             f"category {category.id} is {category.mode}", "category_id")


def _checked_communities(community_ids):
    if (not isinstance(community_ids, list) or not community_ids
            or not all(isinstance(c, str) and c for c in community_ids)):
        raise InvalidRequest("name 1 to 50 community ids", "community_ids")
    if len(community_ids) > MAX_COMMUNITIES:
        raise InvalidRequest(f"at most {MAX_COMMUNITIES} communities per request",
                             "community_ids")
    if len(set(community_ids)) != len(community_ids):
        raise InvalidRequest("must be distinct", "community_ids")
    return community_ids


def _answered(session, category, resident_ids):
    """Residents with any act (grant or withdraw) for the category on email."""
    found = set()
    for start in range(0, len(resident_ids), CHUNK):
        found.update(session.scalars(select(ConsentEvent.resident_id).where(
            ConsentEvent.organization_id == category.organization_id,
            ConsentEvent.category_id == category.id, ConsentEvent.channel == "email",
            ConsentEvent.resident_id.in_(resident_ids[start:start + CHUNK]))))
    return found


def _counts(session, request_ids):
    counts = {}
    if not request_ids:
        return counts
    rows = session.execute(
        select(ConsentRequestRecipient.request_id, ConsentRequestRecipient.status,
               func.count()).where(ConsentRequestRecipient.request_id.in_(request_ids))
        .group_by(ConsentRequestRecipient.request_id, ConsentRequestRecipient.status)).all()
    for request_id, status, count in rows:
        counts.setdefault(request_id, {})[status] = count
    return counts


def _finish_if_done(session, request_id):
    request = session.get(ConsentRequest, request_id)
    if request is None or request.status == "done":
        return
    queued = session.scalar(select(func.count()).where(
        ConsentRequestRecipient.request_id == request_id,
        ConsentRequestRecipient.status == "queued"))
    if not queued:
        request.status, request.finished_at = "done", utcnow()


def _as_consent(organization_id):
    """consent asking directory on its own account, within one organization."""
    return {"actor_type": "system", "actor_id": "consent", "organization_id": organization_id,
            "scopes": {"*": "*"}}


def _short(value, limit):
    return str(value)[:limit] if value else None
