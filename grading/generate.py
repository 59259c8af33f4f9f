"""Deterministic, realistic B2B data: companies, people, six months of engagement, outcomes.

Used by `grading demo` and by the benchmarks (bench/generate.py). The same seed gives the same
records byte for byte. Good-fit people engage more, and engaged good-fit leads win more often, so
the demo's matrix and calibration look like a real funnel. Nothing is held in memory: leads,
events and outcomes are produced lead by lead from the seed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate
from typing import Any

FIRST = (
    "Ana Ben Carla David Elif Finn Greta Hugo Ines Jonas Kai Lena Mateo Nora Oskar Paula Quinn Rosa Sami "
    "Tara Umar Vera Wim Xenia Yusuf Zoe Amir Bea Chen Dana Emil Fatima Gabriel Hana Ivan Julia Karim Liam "
    "Maya Nils Olga Pedro Rania Sofia Tomas"
).split()
LAST = (
    "Müller Schmidt Smith Jones Garcia Rossi Novak Kowalski Larsen Nielsen Dubois Martin Silva Costa "
    "Weber Fischer Meyer Wagner Becker Hoffmann Taylor Brown Wilson Kim Lee Chen Patel Singh Ivanova Berg "
    "Lindqvist Okafor Haddad Yilmaz Horvat Jansen de-Vries O'Brien Murphy"
).split()
COMPANY_A = (
    "Acme Globex Initech Umbrella Hooli Vandelay Soylent Cyberdyne Wonka Tyrell Nakatomi Oscorp Gringotts "
    "Aperture Blue-Sun Monarch Nordwind Alpen Baltic Helix Quantum Vertex Summit Harbor Cobalt Granite "
    "Beacon Orbit Pioneer Atlas"
).split()
COMPANY_B = (
    "Systems Labs Analytics Industries Group Software Health Bank Logistics Retail Media Works Partners "
    "Technologies Solutions Foods Energy Robotics Capital Networks"
).split()

# (value, weight) tables
INDUSTRIES = (
    ("software", 25),
    ("manufacturing", 15),
    ("financial services", 12),
    ("healthcare", 10),
    ("retail", 14),
    ("education", 8),
    ("logistics", 8),
    ("media", 8),
)
COUNTRIES = (
    ("US", 24),
    ("DE", 20),
    ("GB", 12),
    ("FR", 8),
    ("SE", 5),
    ("AT", 4),
    ("CH", 4),
    ("NL", 6),
    ("ES", 5),
    ("IN", 6),
    ("BR", 4),
    ("DK", 2),
)
SIZES = ((10, 18), (35, 16), (80, 18), (150, 14), (300, 13), (600, 9), (1500, 7), (6000, 5))
TITLES = (
    ("CEO", "c-level", 5),
    ("Founder & CEO", "c-level", 2),
    ("CTO", "c-level", 4),
    ("CFO", "c-level", 2),
    ("Chief Marketing Officer", "c-level", 2),
    ("VP Sales", "vp", 4),
    ("VP Marketing", "vp", 4),
    ("Head of Data", "head", 5),
    ("Head of Growth", "head", 4),
    ("Director of Operations", "director", 5),
    ("Marketing Manager", "manager", 12),
    ("Sales Manager", "manager", 8),
    ("IT Manager", "manager", 6),
    ("Data Analyst", "individual", 10),
    ("Software Engineer", "individual", 10),
    ("Marketing Specialist", "individual", 8),
    ("Consultant", "individual", 5),
    ("Student", "student", 3),
    ("Working Student", "student", 1),
    ("Intern", "student", 2),
)
LIFECYCLES = (
    ("lead", 72),
    ("mql", 6),
    ("sql", 4),
    ("opportunity", 4),
    ("customer", 11),
    ("disqualified", 3),
)
OWNERS = ("kim", "lee", "alex", "sam", "jo")
FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com", "gmx.de")
COMPETITORS = ("rivalsoft.com", "scorebase.io", "leadmetric.com")
PRODUCTS = ("analytics", "crm", "automation")
PROSPECT_EVENTS = (
    ("page_view", 58),
    ("download", 12),
    ("email_click", 13),
    ("webinar_attended", 4),
    ("form_submit", 5),
    ("blog_subscribe", 2),
    ("page_view_product", 6),
)
CUSTOMER_EVENTS = (
    ("login", 44),
    ("feature_used", 30),
    ("page_view", 14),
    ("support_ticket", 5),
    ("webinar_attended", 3),
    ("page_view_product", 4),
)
PAGES = (
    ("/", 14),
    ("/pricing", 8),
    ("/blog/", 34),
    ("/docs/", 12),
    ("/careers", 4),
    ("/jobs/", 3),
    ("/customers", 5),
    ("/about", 4),
    ("/plans", 2),
    ("/add-ons", 2),
)
ASSETS = (
    "whitepaper-roi",
    "guide-lead-scoring",
    "report-benchmarks",
    "checklist-migration",
    "ebook-data-quality",
)
BLOG = (
    "why-scores-decay",
    "mql-vs-sql",
    "abm-basics",
    "crm-hygiene",
    "attribution-101",
    "nurture-that-works",
    "pricing-pages",
    "churn-signals",
    "sales-handover",
    "data-contracts",
)


class _Table:
    """Weighted choice without per-call list building."""

    def __init__(self, pairs: tuple[tuple, ...]):
        self.values = [p[:-1] if len(p) > 2 else p[0] for p in pairs]
        self.cumulative = list(accumulate(p[-1] for p in pairs))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random):
        point = rng.random() * self.total
        for value, edge in zip(self.values, self.cumulative, strict=True):
            if point < edge:
                return value
        return self.values[-1]


_INDUSTRY, _COUNTRY, _SIZE = _Table(INDUSTRIES), _Table(COUNTRIES), _Table(SIZES)
_TITLE, _LIFECYCLE, _PAGE = _Table(TITLES), _Table(LIFECYCLES), _Table(PAGES)
_PROSPECT, _CUSTOMER = _Table(PROSPECT_EVENTS), _Table(CUSTOMER_EVENTS)


@dataclass(frozen=True)
class _Profile:
    lead: dict[str, Any]
    fitness: float  # 0..1, how well the lead matches a typical ideal customer profile
    customer: bool
    product: str  # the product this person cares most about


class Dataset:
    def __init__(self, n_leads: int, seed: int, end: datetime, days: int, events_per_lead: float):
        self.n_leads = n_leads
        self.seed = seed
        self.end = int(end.timestamp())
        self.days = days
        self.events_per_lead = events_per_lead
        self.n_companies = max(1, n_leads // 3)
        self._days: dict[int, str] = {}

    # companies and people --------------------------------------------------------------------

    def _company(self, index: int) -> dict[str, Any]:
        rng = random.Random(self.seed * 1_000_003 + index)
        base = rng.choice(SIZES)[0]
        employees = max(1, int(base * (0.6 + rng.random() * 0.9)))
        name = f"{rng.choice(COMPANY_A)} {rng.choice(COMPANY_B)}"
        slug = name.lower().replace(" ", "").replace("'", "")
        domain = COMPETITORS[index % 3] if index % 997 == 13 else f"{slug}{index}.com"
        company = {
            "domain": domain,
            "name": f"{name} {index}" if index >= 600 else name,
            "industry": _INDUSTRY.pick(rng),
            "employees": employees,
            "revenue": int(employees * rng.uniform(60_000, 260_000)),
            "country": _COUNTRY.pick(rng),
        }
        if rng.random() < 0.35:
            company["plan"] = rng.choice(("starter", "growth", "enterprise"))
            company["seats"] = max(1, employees // rng.randint(5, 40))
            company["health"] = rng.choice(("green", "green", "green", "amber", "red"))
        return company

    def _profiles(self) -> Iterator[_Profile]:
        rng = random.Random(self.seed)
        for i in range(1, self.n_leads + 1):
            company = self._company(rng.randrange(self.n_companies))
            first, last = rng.choice(FIRST), rng.choice(LAST)
            title, seniority = _TITLE.pick(rng)
            local = f"{first}.{last}".lower().replace("ü", "ue").replace("'", "")
            email = f"{local}@{rng.choice(FREE_MAIL) if rng.random() < 0.1 else company['domain']}"
            lifecycle = _LIFECYCLE.pick(rng)
            person: dict[str, Any] = {
                "first_name": first,
                "last_name": last,
                "email": email,
                "title": title,
                "seniority": seniority,
                "country": company["country"],
                "lifecycle": lifecycle,
            }
            if rng.random() < 0.6:
                person["phone"] = (
                    f"+{rng.randint(1, 49)} {rng.randint(100, 999)} {rng.randint(100000, 999999)}"
                )
            if rng.random() < 0.65:
                person["owner"] = rng.choice(OWNERS)
            product = rng.choice(PRODUCTS)
            person["interests"] = (
                [product] if rng.random() < 0.7 else [product, rng.choice(PRODUCTS)]
            )
            if lifecycle == "customer":
                person["role"] = rng.choice(("admin", "user", "user", "user"))
            fitness = (
                0.25
                * (
                    company["industry"]
                    in ("software", "manufacturing", "financial services", "healthcare")
                )
                + 0.25 * (200 <= company["employees"] < 1000 or company["employees"] >= 1000)
                + 0.3 * (seniority in ("c-level", "vp", "head"))
                + 0.1 * ("phone" in person)
                + 0.1 * rng.random()
                - 0.4 * (seniority == "student")
            )
            lead = {"id": f"L-{i:07d}", "person": person, "company": company}
            yield _Profile(lead, max(0.0, min(1.0, fitness)), lifecycle == "customer", product)

    def leads(self) -> Iterator[dict[str, Any]]:
        for profile in self._profiles():
            yield profile.lead

    # events ------------------------------------------------------------------------------------

    def _iso(self, at: int) -> str:
        day = at // 86400
        text = self._days.get(day)
        if text is None:
            text = self._days[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
        rest = at % 86400
        return f"{text}T{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}Z"

    def _properties(
        self, rng: random.Random, kind: str, product: str
    ) -> tuple[str, dict[str, Any]]:
        other = product if rng.random() < 0.7 else rng.choice(PRODUCTS)
        if kind == "page_view_product":
            return "page_view", {"url": f"/products/{other}", "product": other}
        if kind == "page_view":
            page = _PAGE.pick(rng)
            if page == "/blog/":
                page += rng.choice(BLOG)
            elif page == "/docs/":
                page += other
            elif page == "/jobs/":
                page += str(rng.randint(100, 140))
            return kind, {"url": page}
        if kind in ("download", "webinar_attended"):
            return kind, {"asset": rng.choice(ASSETS), "product": other}
        if kind in ("email_click", "form_submit"):
            return kind, {
                "campaign": f"{other}-{rng.choice(('launch', 'nurture', 'digest'))}",
                "product": other,
            }
        if kind == "feature_used":
            return kind, {
                "feature": rng.choice(("dashboards", "exports", "workflows", "api")),
                "product": other,
            }
        return kind, {}

    def events(self) -> Iterator[dict[str, Any]]:
        rng = random.Random(self.seed + 7)
        span = self.days * 86400
        number = 0
        mean = self.events_per_lead
        for profile in self._profiles():
            # engagement follows fit (scaled so the average stays at events_per_lead)
            activity = (0.42 + 1.3 * profile.fitness) * (0.4 + 1.2 * rng.random())
            count = min(
                int(rng.expovariate(1.0 / (mean * activity))) if mean > 0 else 0, 40 * int(mean + 1)
            )
            recent = 1.0 + 2.5 * rng.random() * profile.fitness  # hot leads' events bunch up lately
            table = _CUSTOMER if profile.customer else _PROSPECT
            lead_id = profile.lead["id"]
            for _ in range(count):
                number += 1
                at = self.end - int(span * rng.random() ** recent)
                kind, properties = self._properties(rng, table.pick(rng), profile.product)
                yield {
                    "id": f"E-{number:09d}",
                    "lead": lead_id,
                    "type": kind,
                    "at": self._iso(at),
                    "properties": properties,
                }

    # outcomes ---------------------------------------------------------------------------------

    def outcomes(self) -> Iterator[dict[str, Any]]:
        rng = random.Random(self.seed + 13)
        for profile in self._profiles():
            lifecycle = profile.lead["person"]["lifecycle"]
            chance = {"opportunity": 0.8, "sql": 0.5, "customer": 0.6, "disqualified": 0.3}.get(
                lifecycle, 0.1
            )
            if rng.random() >= chance:
                continue
            win = 0.08 + 0.6 * profile.fitness + (0.25 if lifecycle == "customer" else 0.0)
            won = rng.random() < min(0.95, win) and lifecycle != "disqualified"
            at = self.end - int(rng.random() * min(self.days, 120) * 86400)
            outcome = {
                "lead": profile.lead["id"],
                "outcome": "won" if won else "lost",
                "at": self._iso(at),
            }
            if won:
                outcome["amount"] = round(rng.uniform(4_000, 90_000), -2)
            yield outcome


def generate(
    n_leads: int, *, seed: int = 1, end: datetime, days: int = 180, events_per_lead: float = 20.0
) -> Dataset:
    """A data set of n_leads people over the `days` before `end` (leads(), events(), outcomes())."""
    return Dataset(n_leads, seed, end, days, events_per_lead)
