"""The store's grades equal the reference's, over every way a grade can change.

A state machine drives a small database through the services' own doors (imports of leads,
events and outcomes, re-grades, the lead edit, model changes) and keeps its own plain copy of the
world: every lead's person, every company, every lead's events. After each step every stored
grade must be exactly what core.scoring.grade_lead computes from that copy, as of the moment the
lead was last graded: cell, route, scores as stored and the explanation as stored. This guards
whatever fast path grades in the store (classes, day counts, numpy sums, skipped leads)."""

from __future__ import annotations

import copy
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from grading.core.batch import CompactGrade
from grading.core.config import load_config
from grading.core.scoring import Event, grade_lead
from grading.services.grader import stored_values
from grading.services.grading import regrade
from grading.services.ingest import import_records
from grading.services.leads import edit_lead
from grading.store.db import connect
from grading.store.grades import current_grades as stored_rows
from grading.store.leads import lead_id_of

pytestmark = pytest.mark.slow  # a real database behind every step: seconds in all

# The lead edit grades as of the real clock, and events may not be more than a day after it: the
# data lives in the days before today, so that edit's grades count the events too.
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
BASE = TODAY - timedelta(days=6)  # midnight UTC; events fall from BASE - 12 days to BASE + 2
SECONDS = (
    0,
    1,
    43_200,
    86_399,
)  # into a day: midnight, one second after, noon, one before the next

LEADS = ("L-1", "L-2", "L-3", "L-4", "L-5", "L-6")
DOMAINS = ("acme.io", "beta.io", "gamma.io")


def current_grades(db, lead_ids):
    """The stored grades by (lead id, model, category)."""
    return {tuple(row[:3]): tuple(row[3:]) for row in stored_rows(db, lead_ids=lead_ids)}


def _prospects() -> dict[str, Any]:
    return {
        "name": "prospects",
        "audience": {"field": "person.lifecycle", "not_in": ["customer", "disqualified"]},
        "fit": {
            "rules": [
                {"id": "big", "when": {"field": "company.employees", "gte": 200}, "points": 30},
                {
                    "id": "software",
                    "when": {"field": "company.industry", "in": ["software", "saas"]},
                    "points": 20,
                },
                {
                    "id": "ceo",
                    "when": {"field": "person.title", "matches": "\\bceo\\b"},
                    "points": 30,
                },
                {"id": "phone", "when": {"field": "person.phone", "present": True}, "points": 5},
                {
                    "id": "student",
                    "when": {"field": "person.title", "contains": "student"},
                    "points": -40,
                },
                {
                    "id": "tiny",
                    "when": {"field": "company.employees", "lt": 10},
                    "points": -15,
                },
            ],
            "thresholds": {"A": 70, "B": 45, "C": 20},
        },
        "activity": {
            "window_days": 10,
            "half_life_days": 3,
            "rules": [
                {"id": "downloads", "event": "download", "points": 10, "max_points": 25},
                {"id": "visits", "event": "page_view", "min_count": 3, "points": 20},
                {
                    "id": "pricing",
                    "event": "page_view",
                    "where": {"field": "url", "matches": "^/pricing"},
                    "within_days": 2,
                    "points": 15,
                },
                {
                    "id": "careers",
                    "where": {"field": "url", "contains": "careers"},
                    "points": -8,
                    "max_points": 12,
                },
            ],
            "thresholds": {"4": 50, "3": 30, "2": 10},
        },
        "categories": [
            {"name": "crm", "where": {"field": "product", "equals": "crm"}},
            {
                "name": "bi",
                "where": {"field": "product", "equals": "bi"},
                "activity": {
                    "window_days": 5,
                    "rules": [
                        {"id": "any", "points": 3},
                        {"id": "bi-downloads", "event": "download", "min_count": 2, "points": 6},
                    ],
                    "thresholds": {"4": 12, "3": 6, "2": 3},
                },
                "routing": [{"cells": ["*4"], "to": "sdr", "queue": "bi"}],
            },
        ],
        "routing": [
            {"cells": ["A4", "A3", "B4"], "to": "sdr", "queue": "senior"},
            {"cells": ["A*", "B*"], "to": "nurture", "campaign": "accelerate"},
            {"cells": ["*"], "to": "nurture", "campaign": "newsletter"},
        ],
    }


def _upsell() -> dict[str, Any]:
    return {
        "name": "upsell",
        "audience": {"field": "person.lifecycle", "equals": "customer"},
        "fit": {
            "rules": [
                {"id": "big", "when": {"field": "company.employees", "gte": 200}, "points": 40},
                {"id": "cto", "when": {"field": "person.title", "equals": "cto"}, "points": 25},
            ],
            "thresholds": {"A": 60, "B": 40, "C": 20},
        },
        "activity": {
            "window_days": 7,
            "rules": [
                {"id": "logins", "event": "login", "min_count": 2, "points": 10},
                {"id": "clicks", "event": "email_click", "points": -5, "max_points": 7},
                {"id": "docs", "event": "page_view", "points": 4, "max_points": 9},
            ],
            "thresholds": {"4": 20, "3": 10, "2": 4},
        },
        "categories": [{"name": "crm", "where": {"field": "product", "equals": "crm"}}],
        "routing": [{"cells": ["*"], "to": "success"}],
    }


def _variants() -> list[dict[str, Any]]:
    """The model file and the changes a marketer makes to it."""
    base = {"models": [_prospects(), _upsell()]}
    thresholds = copy.deepcopy(base)
    thresholds["models"][0]["fit"]["thresholds"] = {"A": 60, "B": 35, "C": 15}
    thresholds["models"][0]["activity"]["thresholds"] = {"4": 40, "3": 20, "2": 5}
    points = copy.deepcopy(base)
    points["models"][0]["activity"]["rules"][0]["points"] = 12  # downloads
    points["models"][0]["fit"]["rules"][2]["points"] = 45  # ceo
    points["models"][1]["activity"]["rules"][1]["points"] = -3  # clicks
    new_property = copy.deepcopy(base)  # a property no rule read before: events are reclassified
    new_property["models"][0]["activity"]["rules"].append(
        {"id": "spring", "where": {"field": "campaign", "equals": "spring"}, "points": 7}
    )
    new_property["models"][1]["categories"].append(
        {"name": "spring", "where": {"field": "campaign", "equals": "spring"}}
    )
    one_model = {"models": [_prospects()]}  # upsell's grades go
    return [base, thresholds, points, new_property, one_model]


VARIANTS = _variants()

titles = st.sampled_from(["CEO", "Student", "CTO", "analyst", None])
phones = st.sampled_from(["+49 30 1234", None])
lifecycles = st.sampled_from(["lead", "customer", "disqualified", "mql"])
employees = st.sampled_from([5, 9, 10, 199, 200, "250", None])
industries = st.sampled_from(["software", "SaaS ", "retail", None])
event_types = st.sampled_from(["download", "page_view", "login", "email_click", "webinar"])
urls = st.sampled_from(["/pricing", "/Pricing/teams", "/careers", "/blog", None])
products = st.sampled_from(["crm", "bi", None])
campaigns = st.sampled_from(["spring", "autumn", None])
days = st.integers(-12, 2)  # relative to BASE
seconds = st.sampled_from(SECONDS)
event_ids = st.one_of(st.none(), st.sampled_from([f"E-{n}" for n in range(12)]))

an_event = st.fixed_dictionaries(
    {
        "lead": st.sampled_from(LEADS),
        "id": event_ids,
        "type": event_types,
        "day": days,
        "second": seconds,
        "url": urls,
        "product": products,
        "campaign": campaigns,
    }
)


def merged(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A record sent again: attributes merge, None removes one (SPEC section 2)."""
    out = dict(current)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def numbered(items):
    return [(str(i), item) for i, item in enumerate(items, 1)]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class FastPathEqualsReference(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.mkdtemp(prefix="fast-path-")
        self.db = connect(f"{self.folder}/g.db")
        self.config = load_config(VARIANTS[0])
        self.person: dict[str, dict[str, Any]] = {}
        self.company_of: dict[str, str] = {}
        self.company: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[Event]] = {lead: [] for lead in LEADS}
        self.event_ids: set[str] = set()
        self.graded_as_of: dict[str, datetime | None] = {}
        self.last_full: datetime | None = None
        self.unchanged_since_full = False

    def teardown(self) -> None:
        self.db.conn.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # the world, as the services are told about it ------------------------------------------

    def _import_leads(self, records: list[dict[str, Any]], as_of: datetime) -> None:
        """Send leads; the leads whose person, company or company's attributes changed are
        graded again as of `as_of`, as SPEC section 2 says an update is seen."""
        touched: set[str] = set()
        touched_companies: set[str] = set()
        for record in records:
            lead = record["id"]
            before = (self.person.get(lead), self.company_of.get(lead))
            company = record.get("company", {})
            domain = company.get("domain", self.company_of.get(lead))
            attrs = merged(self.company.get(domain, {}), company)
            if attrs != self.company.get(domain):
                if domain in self.company:
                    touched_companies.add(domain)
                self.company[domain] = attrs
            person = merged(self.person.get(lead, {"lifecycle": "lead"}), record.get("person", {}))
            person.setdefault("lifecycle", "lead")
            self.person[lead], self.company_of[lead] = person, domain
            if (person, domain) != before:
                touched.add(lead)
        touched |= {lead for lead, d in self.company_of.items() if d in touched_companies}
        import_records(self.db, self.config, "leads", numbered(records), as_of=as_of)
        self._graded(touched, as_of)

    def _graded(self, leads, as_of: datetime | None) -> None:
        """These leads were graded again as of `as_of` (None: a moment not known exactly)."""
        for lead in leads:
            self.graded_as_of[lead] = as_of
            self.unchanged_since_full = False

    def _store_events(self, drawn: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], set[str]]:
        records = []
        for item in drawn:
            at = BASE + timedelta(days=item["day"], seconds=item["second"])
            properties = {k: item[k] for k in ("url", "product", "campaign") if item[k]}
            properties["session_id"] = f"s{len(records) % 3}"  # no rule reads it
            record = {
                "lead": item["lead"],
                "type": item["type"],
                "at": iso(at),
                "properties": properties,
            }
            if item["id"]:
                record["id"] = item["id"]
            records.append(record)
            if item["id"] in self.event_ids:
                continue  # a duplicate: the first copy stays, whatever this one says
            if item["id"]:
                self.event_ids.add(item["id"])
            self.events[item["lead"]].append(Event(item["type"], at, properties))
        self.unchanged_since_full = False
        return records, {item["lead"] for item in drawn}

    # steps -------------------------------------------------------------------------------

    @initialize(
        people=st.lists(
            st.tuples(titles, phones, lifecycles, st.sampled_from(DOMAINS)),
            min_size=len(LEADS),
            max_size=len(LEADS),
        ),
        companies=st.lists(
            st.tuples(employees, industries), min_size=len(DOMAINS), max_size=len(DOMAINS)
        ),
    )
    def create_leads(self, people, companies):
        shape = dict(zip(DOMAINS, companies, strict=True))
        records = []
        for lead, (title, phone, lifecycle, domain) in zip(LEADS, people, strict=True):
            size, industry = shape[domain]
            person = {"title": title, "phone": phone, "lifecycle": lifecycle}
            company = {"domain": domain, "employees": size, "industry": industry}
            records.append(
                {
                    "id": lead,
                    "person": {k: v for k, v in person.items() if v is not None},
                    "company": {k: v for k, v in company.items() if v is not None},
                }
            )
        self._import_leads(records, BASE)
        self.ids = {lead: lead_id_of(self.db, lead) for lead in LEADS}

    @rule(drawn=st.lists(an_event, min_size=1, max_size=6), day=st.integers(-2, 4), second=seconds)
    def events_arrive_and_are_graded_at_once(self, drawn, day, second):
        as_of = BASE + timedelta(days=day, seconds=second)
        records, leads = self._store_events(drawn)
        import_records(self.db, self.config, "events", numbered(records), as_of=as_of)
        self._graded(leads, as_of)  # every lead a batch names, its duplicates' too

    @rule(drawn=st.lists(an_event, min_size=1, max_size=10), day=st.integers(-2, 4), second=seconds)
    def events_imported_in_bulk_then_everyone_regraded(self, drawn, day, second):
        records, _ = self._store_events(drawn)
        import_records(self.db, self.config, "events", numbered(records), grade=False)
        self._regrade_everyone(BASE + timedelta(days=day, seconds=second))

    def _regrade_everyone(self, as_of: datetime, reason: str = "regrade") -> int:
        written = regrade(self.db, self.config, as_of=as_of, reason=reason).rows_written
        self.graded_as_of = dict.fromkeys(LEADS, as_of)
        self.last_full = as_of
        self.unchanged_since_full = True
        return written

    @rule(lead=st.sampled_from(LEADS), title=titles, phone=phones, day=st.integers(-2, 4))
    def a_lead_changes(self, lead, title, phone, day):
        self._import_leads(
            [{"id": lead, "person": {"title": title, "phone": phone}}],
            BASE + timedelta(days=day, seconds=43_200),
        )

    @rule(lead=st.sampled_from(LEADS), lifecycle=lifecycles)
    def a_lead_is_edited_into_or_out_of_an_audience(self, lead, lifecycle):
        before = datetime.now(UTC)
        edit_lead(self.db, lambda: self.config, lead, {"lifecycle": lifecycle}, actor="test")
        after = datetime.now(UTC)
        person = merged(self.person[lead], {"lifecycle": lifecycle})
        if person != self.person[lead]:
            self.person[lead] = person
            # graded as of the edit's own now: its day is all that counts (every event is older),
            # known unless a UTC midnight fell during the call
            self._graded([lead], after if before.date() == after.date() else None)

    @rule(lead=st.sampled_from(LEADS), size=employees, industry=industries, day=st.integers(-2, 4))
    def a_company_changes_for_all_its_leads(self, lead, size, industry, day):
        company = {"domain": self.company_of[lead], "employees": size, "industry": industry}
        self._import_leads(
            [{"id": lead, "company": company}], BASE + timedelta(days=day, seconds=1)
        )

    @rule(lead=st.sampled_from(LEADS), domain=st.sampled_from(DOMAINS), day=st.integers(-2, 4))
    def a_lead_moves_to_another_company(self, lead, domain, day):
        self._import_leads(
            [{"id": lead, "company": {"domain": domain}}], BASE + timedelta(days=day)
        )

    @rule(lead=st.sampled_from(LEADS), won=st.booleans(), day=st.integers(-2, 4))
    def an_outcome_arrives(self, lead, won, day):
        as_of = BASE + timedelta(days=day, seconds=86_399)
        record = {"lead": lead, "outcome": "won" if won else "lost", "at": iso(BASE)}
        import_records(self.db, self.config, "outcomes", numbered([record]), as_of=as_of)
        self._graded([lead], as_of)

    @rule(variant=st.integers(0, len(VARIANTS) - 1), day=st.integers(-2, 4), second=seconds)
    def the_model_changes(self, variant, day, second):
        # a new Config, as a reload of the model file makes: a grader kept for an older one
        # misses the reclassification (see the regression tests below)
        self.config = load_config(VARIANTS[variant])
        self._regrade_everyone(BASE + timedelta(days=day, seconds=second), "model-change")

    @rule(day=st.integers(-3, 8), second=seconds)
    def time_passes(self, day, second):
        self._regrade_everyone(BASE + timedelta(days=day, seconds=second))

    @rule(data=st.data(), window=st.sampled_from([2, 5, 7, 10]), edge=st.sampled_from([-1, 0]))
    def time_reaches_a_window_edge_of_an_event(self, data, window, edge):
        """As of the moment an event's age is the window's last day (days - 1) or its first day
        out (days), at either end of that UTC day."""
        events = [e for lead in LEADS for e in self.events[lead]]
        if not events:
            return
        at = data.draw(st.sampled_from(events)).at
        day = at.replace(hour=0, minute=0, second=0) + timedelta(days=window + edge)
        self._regrade_everyone(day + timedelta(seconds=data.draw(seconds)))

    @precondition(lambda self: self.last_full is not None)
    @rule()
    def the_same_moment_again_writes_nothing(self):
        unchanged = self.unchanged_since_full
        assert self.last_full is not None
        written = self._regrade_everyone(self.last_full)
        if unchanged:
            assert written == 0

    # the law ------------------------------------------------------------------------------

    def expected(self) -> dict[tuple[int, str, str], tuple]:
        out = {}
        for lead in LEADS:
            as_of = self.graded_as_of.get(lead)
            if as_of is None:
                continue
            company = self.company[self.company_of[lead]]
            for model in self.config.models:
                for grade in grade_lead(
                    model, self.person[lead], company, self.events[lead], as_of
                ):
                    key = (self.ids[lead], model.name, grade.category or "")
                    out[key] = stored_values(CompactGrade.from_grade(grade))
        return out

    @invariant()
    def every_stored_grade_is_the_reference_grade(self):
        if not self.graded_as_of:
            return
        known = [self.ids[lead] for lead in LEADS if self.graded_as_of.get(lead) is not None]
        stored = current_grades(self.db, lead_ids=known)
        expected = self.expected()
        assert stored.keys() == expected.keys()
        lead_of = {lead_id: lead for lead, lead_id in self.ids.items()}
        for key, want in expected.items():
            lead = lead_of[key[0]]
            assert stored[key] == want, (lead, key[1:], self.graded_as_of[lead])


FastPathEqualsReference.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestFastPathEqualsReference = FastPathEqualsReference.TestCase


# A grader is kept per (database file, Config): a server worker keeps the one of its model file
# while another process (a CLI with another --config, a worker that reloaded first) re-grades with
# a model that reads other event properties, which rebuilds every event class under new ids.


def _stale_grader_setup(tmp_path):
    old, new = load_config(VARIANTS[0]), load_config(VARIANTS[3])  # new reads `campaign`
    db = connect(str(tmp_path / "g.db"))
    lead = {
        "id": "L-1",
        "person": {"title": "CEO"},
        "company": {"domain": "a.io", "employees": 500},
    }
    import_records(db, old, "leads", numbered([lead]), as_of=BASE)

    def download(n):
        at = iso(BASE - timedelta(days=1))
        return {"id": f"E-{n}", "lead": "L-1", "type": "download", "at": at, "properties": {}}

    import_records(db, old, "events", numbered([download(1)]), as_of=BASE)  # old's grader kept
    regrade(db, new, as_of=BASE, reason="model-change")  # the other process: reclassified
    return db, old, new, download


def _reference(config, events, as_of):
    person, company = {"title": "CEO", "lifecycle": "lead"}, {"domain": "a.io", "employees": 500}
    return {
        (model.name, grade.category or ""): stored_values(CompactGrade.from_grade(grade))
        for model in config.models
        for grade in grade_lead(model, person, company, events, as_of)
    }


# A bug found here: a kept grader stored new events under the ids of event classes that another
# model file's reclassification deleted; every later grading then ignored those events.
def test_events_a_grader_of_the_previous_model_file_stores_count_after_a_reclassification(
    tmp_path,
):
    db, old, new, download = _stale_grader_setup(tmp_path)
    import_records(db, old, "events", numbered([download(2)]), grade=False)
    regrade(db, load_config(VARIANTS[3]), as_of=BASE)  # the file reloaded: a new grader
    both = [Event("download", BASE - timedelta(days=1), {})] * 2
    got = {(m, c): v for (_, m, c), v in current_grades(db, lead_ids=[1]).items()}
    assert got == _reference(new, both, BASE)  # it was: 1 download counted, not 2
    db.conn.close()


# A bug found here: a kept grader decoded the classes another model file's reclassification made
# with its own, shorter list of properties (a ValueError of zip(..., strict=True)).
def test_a_grader_of_the_previous_model_file_grades_events_classified_for_the_new_one(tmp_path):
    db, old, _, download = _stale_grader_setup(tmp_path)
    import_records(db, old, "events", numbered([download(2)]), as_of=BASE)
    both = [Event("download", BASE - timedelta(days=1), {})] * 2
    got = {(m, c): v for (_, m, c), v in current_grades(db, lead_ids=[1]).items()}
    assert got == _reference(old, both, BASE)
    db.conn.close()
