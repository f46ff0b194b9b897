"""Unsubscribe links: in every message of an opt-out-enabled category, used without login.

Mixed into ConsentService. Messaging asks for the links of a whole batch in one call
(`unsubscribe_links`, with the caller's identity); the public page asks what a link is for
(`describe_unsubscribe`) and records its use (`unsubscribe`). Those two take no identity: the
signed token is the authority, and it reaches only the resident, category and channel it was
issued for. A changed or unknown token and an expired one are refused before anything is
written; a withdrawal is committed before the answer, so the next `check` sees it.
"""

from nameko.extensions import DependencyProvider
from sqlalchemy import insert, select

from contracts.errors import Gone, InvalidRequest
from contracts.footer import carries_unsubscribe_link
from contracts.vocabulary import CHANNELS
from servicekit.access import Caller, new_id
from servicekit.db import utcnow
from servicekit.entrypoints import rpc
from services.consent import link_rules, tokens
from services.consent.categories import owned_category
from services.consent.models import Category, ConsentEvent, Link

LINKS_LIMIT = 10_000
NOT_VALID = tokens.NOT_VALID


class LinkSettingsProvider(DependencyProvider):
    """Signing key, lifetime and public address of links, checked when the service starts:
    a missing key outside development or a lifetime under 60 days stops it."""

    def setup(self):
        self.settings = link_rules.link_settings(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.settings


class Unsubscribe:
    link_settings = LinkSettingsProvider()

    @rpc
    def unsubscribe_links(self, identity, category_id, channel, recipients):
        """{resident_id: url} for recipients [{resident_id, address}] of an opt-out-enabled,
        non-transactional category ({} for any other). A link still good for 60 days is
        reused; the others are issued together: one query, one transaction."""
        caller = Caller.of(identity)
        if channel not in CHANNELS:
            raise InvalidRequest(f"must be one of {', '.join(CHANNELS)}", "channel")
        if len(recipients) > LINKS_LIMIT:
            raise InvalidRequest(f"at most {LINKS_LIMIT} recipients per call", "recipients")
        settings, now = self.link_settings, utcnow()
        with self.db.unit_of_work() as uow:
            session = uow.session
            category = owned_category(session, caller, category_id)
            if (not carries_unsubscribe_link(category.opt_out_enabled, category.transactional)
                    or not recipients):
                return {}
            addresses = {r["resident_id"]: r.get("address") for r in recipients}
            issued = {}
            for row in session.execute(select(Link.id, Link.resident_id, Link.address,
                                              Link.expires_at).where(
                    Link.purpose == link_rules.PURPOSE, Link.category_id == category_id,
                    Link.channel == channel, Link.resident_id.in_(list(addresses)),
                    Link.expires_at > now)):
                issued.setdefault(row.resident_id, []).append(row)
            urls, new = {}, []
            for resident_id, address in addresses.items():
                link = link_rules.pick_reusable(issued.get(resident_id, ()), address, now)
                link_id = link.id if link else tokens.new_link_id(link_rules.ID_PREFIX)
                if link is None:
                    new.append({"id": link_id, "purpose": link_rules.PURPOSE,
                                "organization_id": category.organization_id,
                                "resident_id": resident_id, "category_id": category_id,
                                "channel": channel, "address": address, "created_at": now,
                                "expires_at": link_rules.expires_at(now, settings.days)})
                urls[resident_id] = settings.url(link_id)
            if new:
                session.execute(insert(Link), new)
        return urls

    @rpc
    def describe_unsubscribe(self, token):
        """What the public page shows: whose link (the organization), for what, sent where
        (masked), and the organization's other commercial categories."""
        with self.db.read() as session:
            link, category = _usable_link(session, self.link_settings, token)
            others = _commercial(session, link.organization_id, but=category.id)
        return {"organization_name": self._organization_name(link.organization_id),
                "category_id": category.id, "category_name": category.name,
                "channel": link.channel, "address": link_rules.mask_address(link.address),
                "other_categories": [{"id": c.id, "name": c.name} for c in others],
                "expires_at": link.expires_at.isoformat(),
                "used_at": link.used_at.isoformat() if link.used_at else None}

    @rpc
    def unsubscribe(self, token, scope, evidence):
        """Withdraw the link's category (scope "category") or every commercial category of
        the organization too ("all_commercial") on the link's channel: one withdrawal per
        category not withdrawn already, with its evidence and event, in one transaction."""
        if scope not in link_rules.SCOPES:
            raise InvalidRequest(f"must be one of {', '.join(link_rules.SCOPES)}", "scope")
        with self.db.unit_of_work() as uow:
            session = uow.session
            link, category = _usable_link(session, self.link_settings, token, lock=True)
            try:
                kept = link_rules.evidence(evidence, link)
            except ValueError as exc:
                raise InvalidRequest(str(exc), "wording") from None
            others = (_commercial(session, link.organization_id, but=category.id)
                      if scope == "all_commercial" else [])
            names = {category.id: category.name, **{c.id: c.name for c in others}}
            latest = _latest_acts(session, link, list(names))
            withdrawn = link_rules.to_withdraw(category.id, scope, list(names), latest)
            recorded_by = f"resident:{link.resident_id}"
            for category_id in withdrawn:
                session.add(ConsentEvent(
                    id=new_id("cev"), organization_id=link.organization_id,
                    resident_id=link.resident_id, category_id=category_id,
                    channel=link.channel, action="withdraw", method="unsubscribe_link",
                    recorded_by=recorded_by, evidence=kept))
                uow.emit("consent_recorded", {"resident_id": link.resident_id,
                                              "channel": link.channel,
                                              "category_id": category_id,
                                              "action": "withdraw",
                                              "method": "unsubscribe_link"},
                         organization_id=link.organization_id)
            link.used_at = utcnow()
        return {"scope": scope, "channel": link.channel,
                "categories": [{"id": c, "name": names[c], "withdrawn_now": c in withdrawn}
                               for c in [category.id] + [o.id for o in others]]}

    def _organization_name(self, organization_id):
        """Asked of directory, which owns it, so a renamed organization shows its new name."""
        asking = {"actor_type": "system", "actor_id": "consent",
                  "organization_id": organization_id, "scopes": {"*": "*"}}
        return self.directory.get_organization(asking)["name"]


def _usable_link(session, settings, token, lock=False):
    """The link and its category; a token we did not sign, an unknown link and one of
    another purpose are all just not valid, an expired one is gone."""
    try:
        link_id = tokens.verify(settings.secret, token)
    except tokens.BadToken:
        raise InvalidRequest(NOT_VALID, "token") from None
    link = session.get(Link, link_id, with_for_update=lock)
    if link is None or link.purpose != link_rules.PURPOSE:
        raise InvalidRequest(NOT_VALID, "token")
    if link_rules.expired(link.expires_at, utcnow()):
        raise Gone(f"this link expired on {link.expires_at:%Y-%m-%d}; the newest message "
                   "has a link that works", "token")
    category = session.get(Category, link.category_id)
    if category is None:
        raise InvalidRequest(NOT_VALID, "token")
    return link, category


def _commercial(session, organization_id, but):
    """The organization's other categories that are not business transactions and still in
    use (not archived), by name."""
    return list(session.scalars(select(Category).where(
        Category.organization_id == organization_id, Category.id != but,
        Category.transactional.is_(False), Category.archived_at.is_(None))
        .order_by(Category.name, Category.id)))


def _latest_acts(session, link, category_ids):
    rows = session.execute(select(ConsentEvent.category_id, ConsentEvent.action,
                                  ConsentEvent.seq).where(
        ConsentEvent.organization_id == link.organization_id,
        ConsentEvent.resident_id == link.resident_id, ConsentEvent.channel == link.channel,
        ConsentEvent.category_id.in_(category_ids)).order_by(ConsentEvent.seq)).all()
    return {row.category_id: row.action for row in rows}
