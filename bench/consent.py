"""Consent: decisions per second from one `check` call — the real ConsentService code against
a real database made for the run (an SQLite file in a temporary folder; a PostgreSQL database
created and dropped again), migrated with the service's Alembic migrations.

The service runs in this process (worker_factory with a real database handle), so neither the
broker nor RPC serialization is part of what is measured. An organization has a category per
mode and a transactional one; its residents have a log written the way it grows: about 30%
with a few acts on the measured channel per category, 5% with that channel's preference off
(some switched it off and on again), acts on other channels and on a category nobody checks,
and another organization's log beside it. Every resident has a phone: 4% of the phones texted
STOP to our number (1% then START again) and 2% stopped another number of ours, each with its
keyword act in the log as proof — so texts are checked against the keyword log too. Batches
of 1,000, 5,000 and 10,000 recipients are checked against every category; each answer is
compared with `rules.decide` on facts worked out here from the generated log, without the
service's query or `facts_from_log`. On PostgreSQL the batches run again after PROPOSED_INDEX
is made by hand (no migration makes it).
"""

import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from nameko.testing.services import worker_factory
from sqlalchemy import insert, text

from bench import isolation
from bench.measure import Deadline, rate
from servicekit import migrate
from servicekit.db import DatabaseHandle, create_db_engine
from services.consent.models import Base, ConsentEvent, KeywordEvent
from services.consent.rules import Facts, decide
from services.consent.service import ConsentService

DATABASES = ("sqlite", "postgresql")
ORGANIZATION = "org_bench"
OTHER_ORGANIZATION = "org_bench_other"
MANAGER = {"actor_type": "api_key", "actor_id": "key_bench", "organization_id": ORGANIZATION,
           "permissions": ["manage_consent_categories", "send_communications"]}
CHANNEL = "sms"
OTHER_CHANNELS = ("email", "voice")
# name: (mode, transactional); every one is checked
CATEGORIES = {"council-news": ("opt_in", False), "events": ("opt_out", False),
              "surveys": ("request", False), "bin-collection": ("opt_in", True)}
UNCHECKED_CATEGORY = "archive"
SHARE_WITH_CATEGORY_ACTS = 0.30     # per category: a few acts on CHANNEL
SHARE_PREFERENCE_OFF = 0.05         # CHANNEL switched off, last act a withdrawal
SHARE_PREFERENCE_BACK_ON = 0.02     # switched off, then on again
SHARE_OTHER_CHANNEL = 0.20          # acts for a category on another channel
SHARE_UNCHECKED_CATEGORY = 0.10     # acts on CHANNEL for a category nobody checks
SHARE_NO_CONTACT_POINT = 0.03
SHARE_KEYWORD_STOP = 0.04           # texted STOP to our number ...
SHARE_KEYWORD_RESTART = 0.01        # ... and START again afterwards
SHARE_OTHER_SENDER_STOP = 0.02      # texted STOP to another number of ours
SENDER = "+15550000000"
OTHER_SENDER = "+15550000001"
OTHER_ORGANIZATION_RESIDENTS = 2    # residents of the other organization per one of ours
LOG_DAYS = 3 * 365
SEED_CHUNK = 5_000
SEED = 2026
# the index `check` would want; created by hand in the bench database, never by a migration
PROPOSED_INDEX = ("ix_bench_consent_events_org_channel_resident",
                  "consent_events (organization_id, channel, resident_id)")


def measure(residents, batches, calls, timeout, databases=DATABASES, proposed_index=True):
    """[{database, index, batch, calls, decisions_per_s, p50_ms, slowest_ms, log_rows, exact,
    problems}]: one row per database and batch size (and, on PostgreSQL with
    `proposed_index`, again with PROPOSED_INDEX made by hand). decisions_per_s is the
    median over `calls` calls per category, every category of CATEGORIES."""
    deadline = Deadline(timeout, "consent check")
    log = generate_log(residents, random.Random(SEED))
    found = []
    for database in databases:
        with isolation.service_database(database, "consent", "consent") as url:
            migrate.upgrade("consent", {"DATABASE_URL": url})
            engine = create_db_engine(url)
            try:
                handle = DatabaseHandle(engine, Base.metadata)
                categories = _create_categories(handle)
                _write_log(handle, log, categories)
                runs = [("migrations", ())]
                if proposed_index and database == "postgresql":
                    runs.append(("+ index by hand", (f"CREATE INDEX {PROPOSED_INDEX[0]} ON "
                                                      f"{PROPOSED_INDEX[1]}",)))
                for index, statements in runs:
                    _execute(engine, statements)
                    for batch in batches:
                        figures = _batch(handle, categories, log, batch, calls, deadline)
                        found.append({"database": database, "index": index,
                                      "log_rows": len(log["events"]), **figures})
            finally:
                engine.dispose()
    return found


def generate_log(residents, rng):
    """{residents, no_contact_point, phones, keywords, events}: events in log order, each
    {seq, organization_id, resident_id, category (a name, or None for the channel as a
    whole), channel, action, keyword (an SMS keyword's proof, not a preference),
    occurred_at}; keywords in order, each {phone, sender, kind}."""
    ours = [f"res_bench_{n:06d}" for n in range(residents)]
    theirs = [f"res_other_{n:06d}" for n in range(residents * OTHER_ORGANIZATION_RESIDENTS)]
    timed = []  # (moment, event); a resident's own acts keep their order
    for resident in ours:
        timed += _when(rng, [_event(ORGANIZATION, resident, c, ch, a)
                             for c, ch, a in _history(rng)])
    for resident in theirs:
        timed += _when(rng, [_event(OTHER_ORGANIZATION, resident, c, ch, a)
                             for c, ch, a in _history(rng)])
    phones = {resident: f"+1613555{n:04d}" if n < 10_000 else f"+1343{n:07d}"
              for n, resident in enumerate(ours)}
    keywords = []
    for resident in ours:
        texted = _keywords(rng)
        keywords += [{"phone": phones[resident], "sender": sender, "kind": kind}
                     for sender, kind in texted]
        timed += _when(rng, [dict(_event(ORGANIZATION, resident, None, CHANNEL,
                                         "withdraw" if kind == "stop" else "grant"),
                                  keyword=True) for _, kind in texted])
    timed.sort(key=lambda pair: pair[0])
    start = datetime(2024, 1, 1, tzinfo=UTC)
    events = []
    for seq, (moment, event) in enumerate(timed, start=1):
        events.append({**event, "seq": seq,
                       "occurred_at": start + timedelta(days=moment * LOG_DAYS)})
    no_contact_point = {r for r in ours if rng.random() < SHARE_NO_CONTACT_POINT}
    return {"residents": ours, "no_contact_point": no_contact_point, "phones": phones,
            "keywords": keywords, "events": events}


def _keywords(rng):
    """One phone's keywords, oldest first: (sender, kind)."""
    share = rng.random()
    if share < SHARE_KEYWORD_RESTART:
        return [(SENDER, "stop"), (SENDER, "start")]
    if share < SHARE_KEYWORD_STOP:
        return [(SENDER, "start"), (SENDER, "stop")][rng.randint(0, 1):]
    if share < SHARE_KEYWORD_STOP + SHARE_OTHER_SENDER_STOP:
        return [(OTHER_SENDER, "stop")]
    return []


def _history(rng):
    """One resident's acts, oldest first: (category name or None, channel, action)."""
    acts = []
    for category in CATEGORIES:
        if rng.random() < SHARE_WITH_CATEGORY_ACTS:
            acts += [(category, CHANNEL, rng.choice(("grant", "grant", "withdraw")))
                     for _ in range(rng.randint(1, 4))]
        if rng.random() < SHARE_OTHER_CHANNEL:
            acts.append((category, rng.choice(OTHER_CHANNELS), rng.choice(("grant", "withdraw"))))
    if rng.random() < SHARE_UNCHECKED_CATEGORY:
        acts.append((UNCHECKED_CATEGORY, CHANNEL, rng.choice(("grant", "withdraw"))))
    if rng.random() < SHARE_OTHER_CHANNEL / 2:
        acts.append((None, rng.choice(OTHER_CHANNELS), "withdraw"))
    rng.shuffle(acts)
    share = rng.random()
    if share < SHARE_PREFERENCE_OFF:
        preference = [(None, CHANNEL, "grant")] * rng.randint(0, 1) + [(None, CHANNEL, "withdraw")]
    elif share < SHARE_PREFERENCE_OFF + SHARE_PREFERENCE_BACK_ON:
        preference = [(None, CHANNEL, "withdraw"), (None, CHANNEL, "grant")]
    else:
        preference = []
    position = 0
    for act in preference:  # among the others, in the order the shares promise
        position = rng.randint(position, len(acts))
        acts.insert(position, act)
        position += 1
    return acts


def _event(organization_id, resident_id, category, channel, action):
    return {"organization_id": organization_id, "resident_id": resident_id,
            "category": category, "channel": channel, "action": action}


def _when(rng, events):
    moments = sorted(rng.random() for _ in events)
    return list(zip(moments, events, strict=True))


def expected(log, category_name, recipients):
    """What the rules decide, from the generated log alone."""
    mode, transactional = CATEGORIES[category_name]
    category_act, preference = {}, {}
    for event in log["events"]:  # in log order: a later act replaces an earlier one
        if event["organization_id"] != ORGANIZATION or event["channel"] != CHANNEL:
            continue
        if event["category"] == category_name:
            category_act[event["resident_id"]] = event["action"]
        elif event["category"] is None and not event.get("keyword"):
            preference[event["resident_id"]] = event["action"] == "grant"
    stopped = {}
    for keyword in log["keywords"]:
        if keyword["sender"] == SENDER:
            stopped[keyword["phone"]] = keyword["kind"] == "stop"
    answers = []
    for recipient in recipients:
        resident = recipient["resident_id"]
        decision = decide(Facts(mode=mode, transactional=transactional,
                                category_act=category_act.get(resident),
                                channel_preference=preference.get(resident),
                                keyword_stopped=stopped.get(log["phones"][resident], False),
                                has_contact_point=recipient["has_contact_point"]))
        answers.append({"resident_id": resident, "allowed": decision.allowed,
                        "reason": decision.reason})
    return answers


def _service(handle):
    # a fresh instance per call, as nameko makes one worker per call
    return worker_factory(ConsentService, db=handle, config={"twilio": {"from_number": SENDER}})


def _create_categories(handle):
    """{name: id}, made through the service; the unchecked one too."""
    names = {**CATEGORIES, UNCHECKED_CATEGORY: ("opt_in", False)}
    return {name: _service(handle).create_category(MANAGER, ORGANIZATION, name, mode,
                                                   transactional)["id"]
            for name, (mode, transactional) in names.items()}


def _write_log(handle, log, categories):
    """The log as rows, with the generated seq: the order `check` must honour."""
    other_ids = {}  # the other organization's categories: ids of their own
    rows = []
    for event in log["events"]:
        category = event["category"]
        if category is None:
            category_id = None
        elif event["organization_id"] == ORGANIZATION:
            category_id = categories[category]
        else:
            category_id = other_ids.setdefault(category, f"cat_other_{len(other_ids)}")
        rows.append({"seq": event["seq"], "id": f"cev_bench_{event['seq']:08d}",
                     "organization_id": event["organization_id"],
                     "resident_id": event["resident_id"], "category_id": category_id,
                     "channel": event["channel"], "action": event["action"],
                     "method": ("sms_keyword" if event.get("keyword") else
                                "web_form" if event["action"] == "grant" else "unsubscribe_link"),
                     "recorded_by": "key_bench",
                     "evidence": {"form": "bench", "ip": "192.0.2.1", "seq": event["seq"]},
                     "occurred_at": event["occurred_at"]})
    for start in range(0, len(rows), SEED_CHUNK):
        with handle.unit_of_work() as uow:
            uow.session.execute(insert(ConsentEvent), rows[start:start + SEED_CHUNK])
    keywords = [{"seq": n, "id": f"kwd_bench_{n:08d}", "message_sid": f"SMbench{n:08d}",
                 "keyword": keyword["kind"].upper(), "source": "inbound_sms", **keyword,
                 "received_at": datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=n)}
                for n, keyword in enumerate(log["keywords"], start=1)]
    for start in range(0, len(keywords), SEED_CHUNK):
        with handle.unit_of_work() as uow:
            uow.session.execute(insert(KeywordEvent), keywords[start:start + SEED_CHUNK])
    if handle.engine.dialect.name == "postgresql":
        _execute(handle.engine, (
            "SELECT setval(pg_get_serial_sequence('consent_events', 'seq'), max(seq)) "
            "FROM consent_events",
            "SELECT setval(pg_get_serial_sequence('keyword_events', 'seq'), max(seq)) "
            "FROM keyword_events", "ANALYZE"))


def _execute(engine, statements):
    if not statements:
        return
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        for statement in statements:
            connection.execute(text(statement))


def _batch(handle, categories, log, batch, calls, deadline):
    """Figures of `calls` calls per category, each of `batch` recipients, checked exact."""
    rng = random.Random(f"{SEED}-{batch}")
    recipients = [{"resident_id": r, "has_contact_point": r not in log["no_contact_point"],
                   "address": log["phones"][r]}
                  for r in rng.sample(log["residents"], min(batch, len(log["residents"])))]
    seconds, problems, answered = [], [], {}
    for name, category_id in categories.items():
        if name not in CATEGORIES:
            continue
        wanted = expected(log, name, recipients)
        for answer in wanted:
            reason = answer["reason"] or "allowed"
            answered[reason] = answered.get(reason, 0) + 1
        for _ in range(calls):
            deadline.check(f"{name}, batch {batch}")
            service = _service(handle)
            began = time.perf_counter()
            answers = service.check(MANAGER, category_id, CHANNEL, recipients)
            seconds.append(time.perf_counter() - began)
            if answers != wanted:
                problems.append(_difference(name, answers, wanted))
    median = statistics.median(seconds)
    return {"batch": len(recipients), "calls": len(seconds),
            "decisions_per_s": rate(len(recipients), median), "p50_ms": median * 1000,
            "slowest_ms": max(seconds) * 1000, "exact": not problems, "problems": problems[:3],
            "answers": answered}


def _difference(name, answers, wanted):
    if len(answers) != len(wanted):
        return f"{name}: {len(answers)} answers for {len(wanted)} recipients"
    wrong = [(a, w) for a, w in zip(answers, wanted, strict=True) if a != w]
    return f"{name}: {len(wrong)} decisions differ, e.g. {wrong[0][0]} (rules: {wrong[0][1]})"
