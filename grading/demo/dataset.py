"""Deterministic, realistic B2B data: companies, people, months of engagement, outcomes.

Used by `grading demo` and by the benchmarks (bench/generate.py). The same arguments give the same
records byte for byte. What makes it look like a real funnel:

- companies and people that fit together, a lifecycle that follows how well they fit (people.py);
- engagement that follows fit: good-fit people are more active and more active lately; each person
  has a persona (researcher, buyer, job seeker, student; for customers: user, explorer, struggling)
  that decides what they do (behaviour.py); events come in sessions, in office hours of the
  person's time zone, less on weekends;
- outcomes for about 15% of leads, won more often by active good-fit leads.

The total number of events is exactly round(n_leads × events_per_lead): a first pass draws every
lead's engagement weight (a few numbers per lead, no records are kept), events are then shared out
in proportion, lead by lead. Nothing else is held in memory. Stdlib only; no import of the grading
core, so the generator cannot be tuned to the code it is meant to test.
"""

from __future__ import annotations

import math
import random
import time
from array import array
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from .behaviour import (
    BLOG_POSTS,
    CUSTOMER_TABLES,
    LOGINS,
    SESSION_BITS,
    TABLE_BITS,
    TOD_BITS,
    prepared,
)
from .people import walk_leads
from .vocabulary import DAY

_THOUSANDS = [f"{n:03d}" for n in range(1000)]


class Dataset:
    """leads(), events() and outcomes() of one generated data set; each call starts afresh."""

    def __init__(self, n_leads: int, seed: int, end: datetime, days: int, events_per_lead: float):
        if n_leads < 0 or days < 1 or events_per_lead < 0:
            raise ValueError("n_leads and events_per_lead must be >= 0, days >= 1")
        self.n_leads = n_leads
        self.seed = seed
        self.end = int(end.timestamp())
        self.days = days
        self.events_per_lead = events_per_lead
        self.n_events = round(n_leads * events_per_lead)
        self._latent: dict[str, array] | None = None
        self._weekend: list[bool] = []  # by age in days
        self._ready = prepared()
        # ISO date prefixes for every day the data can touch
        self._first_day = (self.end - days * DAY) // DAY - 1
        self._dates = [
            time.strftime("%Y-%m-%d", time.gmtime((self._first_day + i) * DAY))
            for i in range(days + 3)
        ]

    def _iso(self, at: int) -> str:
        return self._dates[at // DAY - self._first_day] + self._ready.clock[at % DAY]

    def _walk(self) -> Iterator[tuple[dict[str, Any], tuple]]:
        return walk_leads(self.n_leads, self.seed, self.days)

    def _traits(self) -> dict[str, array]:
        """Hidden traits of every lead in compact arrays (about 40 bytes a lead)."""
        if self._latent is None:
            for _ in self._walk_recording():
                pass
        assert self._latent is not None
        return self._latent

    def _walk_recording(self) -> Iterator[dict[str, Any]]:
        columns: dict[str, array[Any]] = {
            "fitness": array("d"),
            "weight": array("d"),
            "burst": array("d"),
            "table": array("b"),
            "tz": array("b"),
            "lifecycle": array("b"),
            "employees": array("l"),
        }
        appends = [column.append for column in columns.values()]
        for lead, traits in self._walk():
            for append, value in zip(appends, traits, strict=True):
                append(value)
            yield lead
        self._latent = columns  # complete: kept for events() and outcomes()

    def leads(self) -> Iterator[dict[str, Any]]:
        if self._latent is not None:
            return (lead for lead, _ in self._walk())
        return self._walk_recording()

    # events ------------------------------------------------------------------------------------

    def _lead_times(
        self, rng: random.Random, count: int, burst: float, tz: int, steady: bool
    ) -> list[int]:
        """`count` event times for one lead, in sessions around a few bursts, sorted."""
        rand, days, end = rng.random, self.days, self.end
        start = end - days * DAY
        last_day = (end - 1) // DAY
        weekend = self._weekend
        tod = self._ready.times_of_day
        shift = tz * 3600
        # the main burst, sometimes an earlier or a later one; widths of 2-16 days
        centers = [burst]
        if count > 6 and rand() < 0.5:
            centers.append(days * rand())
        if count > 20 and rand() < 0.4:
            centers.append(days * rand())
        widths = [2.0 + 14.0 * rand() for _ in centers]
        bursts = len(centers)
        background = 0.6 if steady else 0.15  # customers use the product all the time
        sessions = self._ready.sessions
        bits = rng.getrandbits
        times: list[int] = []
        remaining = count
        age = 0
        while remaining > 0:
            for _ in range(3):  # a weekend day is drawn again, mostly: fewer sessions then
                if rand() < background:  # now and then, outside any burst
                    age = int(days * rand())
                else:
                    which = int(rand() * bursts) if bursts > 1 else 0
                    age = int(centers[which] + (rand() - rand()) * widths[which])
                    if age < 0:
                        age = -age
                    if age >= days:
                        age = days - 1 - (age - days) % days
                if not weekend[age] or rand() < 0.35:
                    break
            at = (last_day - age) * DAY + tod[bits(TOD_BITS)] - shift
            session = sessions[bits(SESSION_BITS)]
            if len(session) > remaining:
                session = session[:remaining]
            remaining -= len(session)
            while at + session[-1] > end:  # late in the person's day: the day before
                at -= DAY
            if at < start:  # early on the first day: the day after (or as late as fits)
                at = max(start, min(at + DAY, end - session[-1]))
            times.extend([at + offset for offset in session])
        times.sort()
        return times

    def events(self) -> Iterator[dict[str, Any]]:
        traits = self._traits()
        weights = traits["weight"]
        total_weight = math.fsum(weights)
        target = self.n_events if total_weight > 0 else 0
        scale = target / total_weight if total_weight > 0 else 0.0
        self._weekend = [
            time.gmtime(((self.end - 1) // DAY - age) * DAY).tm_wday >= 5
            for age in range(self.days)
        ]
        rng = random.Random(self.seed * 7919 + 7)
        bits = rng.getrandbits
        tables = self._ready.tables
        dates, first_day, clock = self._dates, self._first_day, self._ready.clock
        bursts, table_of, tzs = traits["burst"], traits["table"], traits["tz"]
        thousands = _THOUSANDS
        number = 0
        prefix = "E-000000"
        cumulative = 0.0
        last = max((i for i, w in enumerate(weights) if w), default=-1)
        for index, weight in enumerate(weights):
            if not weight:
                continue
            cumulative += weight
            upto = target if index == last else min(target, int(cumulative * scale + 0.5))
            count = upto - number
            if count <= 0:
                continue
            lead_id = f"L-{index + 1:07d}"
            table = tables[table_of[index]]
            customer = table_of[index] >= CUSTOMER_TABLES
            subscribed = False
            previous = 0
            for at in self._lead_times(rng, count, bursts[index], tzs[index], customer):
                number += 1
                low = number % 1000
                if not low:
                    prefix = f"E-{number // 1000:06d}"
                if customer and at - previous > 1800:  # a new session starts with a login
                    kind, properties = LOGINS[number & 7]
                else:
                    kind, properties = table[bits(TABLE_BITS)]
                previous = at
                if kind == "blog_subscribe":
                    if subscribed:  # one subscription per person; read a post instead
                        kind, properties = "page_view", {"url": "/blog/" + BLOG_POSTS[number % 16]}
                    subscribed = True
                yield {
                    "id": prefix + thousands[low],
                    "lead": lead_id,
                    "type": kind,
                    "at": dates[at // DAY - first_day] + clock[at % DAY],
                    "properties": properties.copy(),
                }

    # outcomes ---------------------------------------------------------------------------------

    def outcomes(self) -> Iterator[dict[str, Any]]:
        traits = self._traits()
        rng = random.Random(self.seed * 104_729 + 13)
        rand = rng.random
        mean_weight = (math.fsum(traits["weight"]) / self.n_leads) if self.n_leads else 1.0
        chances = (0.04, 0.15, 0.4, 0.75, 0.3, 0.25)  # by lifecycle code
        columns = zip(
            traits["fitness"],
            traits["weight"],
            traits["burst"],
            traits["lifecycle"],
            traits["employees"],
            strict=True,
        )
        for index, (fitness, weight, burst, lifecycle, employees) in enumerate(columns):
            # how active the lead was around its main burst, 0..1
            active = 1.0 - math.exp(-1.5 * weight / (mean_weight or 1.0))
            chance = chances[lifecycle] + (0.12 * active if lifecycle == 0 else 0.0)
            if rand() >= chance:
                continue
            if lifecycle == 5:  # disqualified
                won = False
            elif lifecycle == 4:  # customer: renewal or expansion deal
                won = rand() < 1 / (1 + math.exp(-(-2.0 + 2.5 * fitness + 1.5 * active)))
            else:
                won = rand() < 1 / (1 + math.exp(-(-4.0 + 3.6 * fitness + 2.2 * active)))
            # deals close a little after the lead's busiest time (anywhere lately if never seen)
            if weight:
                age = int(burst - 2 - 25 * rand())
            else:
                age = int(min(120, self.days) * rand())
            age = max(0, min(self.days - 1, age))
            at = ((self.end - 1) // DAY - age) * DAY + self._ready.times_of_day[
                rng.getrandbits(TOD_BITS)
            ]
            at = max(self.end - self.days * DAY, min(self.end, at))
            amount = 900 * employees**0.5 * rng.lognormvariate(0, 0.5)
            yield {
                "lead": f"L-{index + 1:07d}",
                "outcome": "won" if won else "lost",
                "at": self._iso(at),
                "amount": int(min(900_000, max(1_500, amount)) // 100 * 100),
            }


def generate(
    n_leads: int, *, seed: int = 1, end: datetime, days: int = 180, events_per_lead: float = 20.0
) -> Dataset:
    """A data set of n_leads people over the `days` before `end` (leads(), events(), outcomes()).

    Every event time is within [end - days, end]; events() yields round(n_leads × events_per_lead)
    events with ascending ids, lead by lead (the average per lead; single leads vary a lot).
    """
    return Dataset(n_leads, seed, end, days, events_per_lead)
