"""Deterministic, realistic B2B data: companies, people, months of engagement, outcomes.

Used by `grading demo` and by the benchmarks (bench/generate.py). The same arguments give the same
records byte for byte. What makes it look like a real funnel:

- companies (about three leads each) with industry, size, revenue and country that fit together;
  customer companies carry their plan, seats, health and the products they own;
- people with a realistic mix of titles and seniority, free-mail addresses, missing phones,
  students and job seekers, and a lifecycle that follows how well they fit;
- engagement that follows fit: good-fit people are more active and more active lately; each person
  has a persona (researcher, buyer, job seeker, student; for customers: user, explorer, struggling)
  that decides what they do; events come in sessions, in office hours of the person's time zone,
  less on weekends;
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
from bisect import bisect
from collections.abc import Iterator
from datetime import datetime
from itertools import accumulate
from typing import Any

DAY = 86400

# ---------------------------------------------------------------------------------------------
# vocabularies


def _rows(text: str) -> list[list[str]]:
    """Rows of a text table: one per line, cells split by '|' (or by spaces when there is none)."""
    rows = []
    for line in text.strip().splitlines():
        cells = line.split("|") if "|" in line else line.split()
        rows.append([cell.strip() for cell in cells])
    return rows


FIRST = """
Ana Ben Carla David Elif Finn Greta Hugo Ines Jonas Kai Lena Mateo Nora Oskar Paula Quinn Rosa Sami
Tara Umar Vera Wim Xenia Yusuf Zoe Amir Bea Chen Dana Emil Fatima Gabriel Hana Ivan Julia Karim Liam
Maya Nils Olga Pedro Rania Sofia Tomas Aisha Bruno Chloe Diego Emma Felix Grace Henrik Ingrid Jamal
Katarina Lucas Mei Noah Olivia Priya Rafael Sara Theo Ulla Victor Wen Yara Zainab Anders Birgit
Claire Daniel Erik Freya Giulia Hiroshi Isabel Jakob Laura Marco Nadia Omar Pia
""".split()
LAST = """
Mueller Schmidt Smith Jones Garcia Rossi Novak Kowalski Larsen Nielsen Dubois Martin Silva Costa
Weber Fischer Meyer Wagner Becker Hoffmann Taylor Brown Wilson Kim Lee Chen Patel Singh Ivanova Berg
Lindqvist Okafor Haddad Yilmaz Horvat Jansen de-Vries OBrien Murphy Andersson Johansson Hansen
Virtanen Bauer Koch Richter Klein Wolf Schulz Neumann Evans Walker Wright Thompson White Harris
Clarke Lopez Martinez Sanchez Romano Ricci Moreau Laurent Bernard Tanaka Sato Nguyen Khan Sharma
Gupta Santos Oliveira Ferreira Murray Byrne Walsh Keller Huber Gruber
""".split()

# Company names are built from syllables and a word that suits the industry; every company index
# maps to a different (brand, word) pair, so names and domains are unique without numbers.
BRAND_HEAD = """
Ac Al Ar Bel Ber Bri Cal Cap Cor Dal Del Dor El Fal Fin Gal Gro Hal Hel Ind Jun Kal Kor Lan Lin
Lum Mar Mer Mon Nor Nov Ol Or Pel Pra Quin Ros Sal Sol Tal Ter Tor Ul Val Ven Vor Wes Xan Zen Zor
Ald Bar Cen Eri Hav Kes Mal Nex Ost Rav
""".split()
BRAND_MIDDLE = ("", *"a e i o an en in or ar el is on et u al".split())
BRAND_TAIL = """
tex vo ra nix dex lon via ly ron tis mo ta gen ix ion ara ent ex ica co ia ium ora ova una ys ant
ic ux io ton mar dor vik sen berg feld ley wick ford ston
""".split()
# industry | weight | the words its company names end with (one list per industry, no overlaps)
_INDUSTRY_ROWS = _rows("""
software           | 22 | Software Labs Cloud Technologies Data Systems
manufacturing      | 14 | Industries Manufacturing Works Robotics Motors Engineering
financial services | 11 | Bank Capital Insurance Finance Payments Invest
healthcare         |  9 | Health Medical Pharma Clinics Care Diagnostics
retail             | 11 | Retail Stores Foods Fashion Market Goods
education          |  7 | Academy Learning Education Institute School Training
logistics          |  7 | Logistics Freight Shipping Transport Cargo Supply
media              |  7 | Media Studios Publishing Broadcasting News Creative
energy             |  5 | Energy Power Solar Utilities Grid Renewables
consulting         |  7 | Consulting Advisors Partners Group Associates Strategy
""")
INDUSTRIES = tuple((name, float(weight)) for name, weight, _ in _INDUSTRY_ROWS)
INDUSTRY_WORDS = {name: tuple(words.split()) for name, _, words in _INDUSTRY_ROWS}
SLOTS = 6  # words per industry
TARGET_INDUSTRIES = frozenset(("software", "manufacturing", "financial services", "healthcare"))
# country: weight, phone code, time zone (hours from UTC), country-code domain
COUNTRIES = {
    code: (float(weight), phone, int(zone), tld)
    for code, weight, phone, zone, tld in _rows("""
US 22 1 -6 com
DE 18 49 1 de
GB 11 44 0 co.uk
FR 6 33 1 fr
NL 5 31 1 nl
SE 4 46 1 se
AT 3 43 1 at
CH 4 41 1 ch
DK 2 45 1 dk
NO 2 47 1 no
FI 2 358 2 fi
ES 4 34 1 es
IT 3 39 1 it
PL 3 48 1 pl
IE 2 353 0 ie
CA 3 1 -5 ca
IN 4 91 5 in
BR 2 55 -3 com.br
AU 2 61 10 com.au
JP 1 81 9 jp
""")
}
TARGET_COUNTRIES = frozenset(("DE", "AT", "CH", "GB", "US", "SE", "DK", "NO", "FI"))
# employee bands: (low, high, weight)
SIZES = (
    (2, 9, 14),
    (10, 49, 24),
    (50, 199, 25),
    (200, 999, 20),
    (1000, 4999, 11),
    (5000, 50000, 6),
)
# title | seniority | weight (per 100 leads, roughly)
TITLES = tuple(
    (title, seniority, float(weight))
    for title, seniority, weight in _rows("""
CEO                          | c-level    | 2.5
Chief Executive Officer      | c-level    | 0.6
Founder & CEO                | c-level    | 1.0
Co-Founder                   | c-level    | 0.6
Owner                        | c-level    | 0.5
Managing Director            | c-level    | 1.0
CTO                          | c-level    | 1.6
CFO                          | c-level    | 0.8
COO                          | c-level    | 0.6
Chief Marketing Officer      | c-level    | 1.0
Chief Revenue Officer        | c-level    | 0.5
Chief Data Officer           | c-level    | 0.3
VP Sales                     | vp         | 2.0
VP Marketing                 | vp         | 2.0
VP Engineering               | vp         | 1.5
VP Operations                | vp         | 1.0
SVP Revenue                  | vp         | 0.4
Head of Data                 | head       | 1.5
Head of Growth               | head       | 1.2
Head of Marketing            | head       | 2.0
Head of Sales                | head       | 1.5
Head of IT                   | head       | 1.2
Head of Analytics            | head       | 1.0
Head of CRM                  | head       | 0.6
Director of Operations       | director   | 1.5
Marketing Director           | director   | 1.5
Sales Director               | director   | 1.5
IT Director                  | director   | 1.0
Director of Analytics        | director   | 0.8
Marketing Manager            | manager    | 6.0
Sales Manager                | manager    | 4.0
IT Manager                   | manager    | 3.0
Product Manager              | manager    | 3.0
Marketing Operations Manager | manager    | 2.5
CRM Manager                  | manager    | 2.0
Account Manager              | manager    | 2.0
Project Manager              | manager    | 2.0
Data Analyst                 | individual | 5.0
Business Analyst             | individual | 3.0
Software Engineer            | individual | 5.0
Marketing Specialist         | individual | 4.0
Sales Representative         | individual | 3.0
Consultant                   | individual | 3.0
Data Scientist               | individual | 2.0
Account Executive            | individual | 2.0
Developer                    | individual | 2.0
Assistant                    | individual | 1.5
Student                      | entry      | 2.5
Working Student              | entry      | 1.0
Intern                       | entry      | 1.5
Marketing Intern             | entry      | 0.8
Trainee                      | entry      | 0.6
PhD Student                  | entry      | 0.4
""")
)
# how much a seniority adds to the hidden fit of a prospect
SENIORITY_FIT = {
    "c-level": 0.25,
    "vp": 0.2,
    "head": 0.2,
    "director": 0.12,
    "manager": 0.06,
    "individual": 0.0,
    "entry": -0.45,
}
SOURCES = tuple(
    (name, float(weight))
    for name, weight in _rows("""
website 34
webinar 12
content-download 16
trade-show 10
referral 7
list-import 12
paid-search 9
""")
)
OWNERS = ("kim", "lee", "alex", "sam", "jo", "maria")
FREE_MAIL = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "gmx.de", "web.de")
PRODUCTS = ("analytics", "crm", "automation")
PLANS = (("starter", 45), ("growth", 38), ("enterprise", 17))
HEALTH = (("green", 65), ("amber", 24), ("red", 11))
# Competitors are fixed companies: the same domain always carries the same company.
COMPETITORS = tuple(
    {
        "domain": domain,
        "name": name,
        "industry": "software",
        "employees": int(employees),
        "revenue": int(revenue),
        "country": country,
    }
    for domain, name, employees, revenue, country in _rows("""
rivalsoft.com  RivalSoft  420 61000000 US
scorebase.io   Scorebase   85  9500000 DE
leadmetric.com LeadMetric 230 27000000 GB
""")
)
COMPETITOR_DOMAINS = frozenset(c["domain"] for c in COMPETITORS)
LIFECYCLE_CODES = ("lead", "mql", "sql", "opportunity", "customer", "disqualified")

# ---------------------------------------------------------------------------------------------
# what people do: actions, personas and their mix

BLOG_POSTS = """
why-scores-decay mql-vs-sql abm-basics crm-hygiene attribution-101 nurture-that-works pricing-pages
churn-signals sales-handover data-contracts dashboard-design lead-routing email-deliverability
forecasting-pipeline customer-journeys cohort-analysis
""".split()
STORIES = "acme-industries nordwind-logistics helix-health baltic-bank orbit-retail".split()
JOBS = """
senior-data-engineer-berlin account-executive-london product-designer-remote
customer-success-manager-munich backend-developer-stockholm marketing-manager-new-york
""".split()
# product | documentation pages | downloads | webinars | features used in the product
_PRODUCT_ROWS = _rows("""
analytics  | getting-started dashboards sql-editor exports api
           | whitepaper-roi report-benchmarks-2026 guide-kpi-dashboards
           | from-data-to-decisions analytics-product-tour
           | dashboards reports exports alerts sql-editor
crm        | getting-started pipelines import-contacts deduplication api
           | checklist-crm-migration ebook-data-quality template-sales-playbook
           | pipeline-reviews-that-work crm-product-tour
           | pipeline-board contacts deals forecast email-sync
automation | getting-started workflows triggers email-builder api
           | guide-lead-scoring ebook-nurture-flows report-email-benchmarks
           | automate-your-funnel automation-product-tour
           | workflows segments email-builder triggers ab-tests
""")
_PRODUCT_INFO = {
    product: tuple(tuple(row[1].split()) for row in _PRODUCT_ROWS[i * 4 : i * 4 + 4])
    for i, product in enumerate(PRODUCTS)
}
DOCS = {product: info[0] for product, info in _PRODUCT_INFO.items()}
ASSETS = {product: info[1] for product, info in _PRODUCT_INFO.items()}
WEBINARS = {product: info[2] for product, info in _PRODUCT_INFO.items()}
FEATURES = {product: info[3] for product, info in _PRODUCT_INFO.items()}
FORMS = (
    ("demo-request", "/demo"),
    ("contact", "/contact"),
    ("trial-signup", "/trial"),
    ("event-registration", "/events"),
)


def _mix(text: str) -> dict[str, dict[str, float]]:
    """A persona table (actions down, personas across) as {persona: {action: weight}}."""
    header, *rows = _rows(text)
    return {
        persona: {row[0]: float(row[1 + i]) for row in rows if float(row[1 + i])}
        for i, persona in enumerate(header[1:])
    }


# How often each persona does what (relative weights); _action() turns an action into an event.
PROSPECT_PERSONAS = _mix("""
action     researcher buyer job_seeker student
home            8      6      6        6
blog           30     12     10       30
product         9     17      4        4
docs            7      8      2       10
pricing         2.5   10      1        1
story           4      6      2        0
about           3      3      8        4
careers         1.5    0.5   30       10
jobs            0.5    0.2   25        8
download       12     10      3       18
webinar         4      5      0        3
email          14     10      4        2
form            2      6      3        2
subscribe       1.5    1      1        2
""")
# Customers' sessions start with a login (events() adds it), so logins are not in this table.
CUSTOMER_PERSONAS = _mix("""
action          user explorer struggling
feature          36     26       14
docs              8      6       16
support           4      3       22
cross_product     3     12        2
upgrade           2      7        1
webinar           2      5        2
cross_download    1.5    6        1
email             5      7        3
""")
PERSONAS = tuple(PROSPECT_PERSONAS) + tuple(CUSTOMER_PERSONAS)
_CUSTOMER_TABLES = len(PROSPECT_PERSONAS) * 3  # table numbers from here on are customers'

# local hour of day -> relative activity (office hours, a little in the evening)
HOURS = tuple(
    map(float, "0.3 0.2 .15 .15 0.2 0.4 0.8 2 5 8 9 9 6 7 8 8 7 5 3 2.5 2.2 1.8 1.2 0.6".split())
)
SESSION_SIZES = (1,) * 40 + (2,) * 25 + (3,) * 15 + (4,) * 10 + (5,) * 6 + (6,) * 4  # 100 entries
SESSION_BITS = 10

LOGINS = (("login", {"app": "mobile"}),) + (("login", {"app": "web"}),) * 7
TABLE_BITS = 12  # 4,096 slots per persona table: one random draw picks a ready-made event
TOD_BITS = 13


def _action(rng: random.Random, action: str, product: str) -> tuple[str, dict[str, Any]]:
    """One concrete event (type, properties) for an action and the product it is about."""
    p = product
    if action == "home":
        return "page_view", {"url": "/"}
    if action == "blog":
        return "page_view", {"url": "/blog/" + rng.choice(BLOG_POSTS)}
    if action in ("product", "cross_product"):
        return "page_view", {"url": "/products/" + p, "product": p}
    if action == "docs":
        return "page_view", {"url": f"/docs/{p}/{rng.choice(DOCS[p])}", "product": p}
    if action == "pricing":
        return "page_view", {"url": rng.choice(("/pricing", "/pricing", "/pricing#enterprise"))}
    if action == "upgrade":
        if rng.random() < 0.5:
            return "page_view", {"url": "/add-ons/" + p, "product": p}
        return "page_view", {"url": rng.choice(("/pricing", "/plans"))}
    if action == "story":
        return "page_view", {"url": "/customers/" + rng.choice(STORIES)}
    if action == "about":
        return "page_view", {"url": rng.choice(("/about", "/contact", "/partners", "/events"))}
    if action == "careers":
        return "page_view", {"url": "/careers"}
    if action == "jobs":
        return "page_view", {"url": "/jobs/" + rng.choice(JOBS)}
    if action in ("download", "cross_download"):
        asset = rng.choice(ASSETS[p])
        return "download", {"asset": asset, "url": "/resources/" + asset, "product": p}
    if action == "webinar":
        return "webinar_attended", {"webinar": rng.choice(WEBINARS[p]), "product": p}
    if action == "email":
        campaign = rng.choice((f"{p}-launch", f"{p}-nurture", "monthly-digest"))
        properties = {"campaign": campaign, "url": rng.choice(("/blog/", "/products/", "/pricing"))}
        if properties["url"] == "/products/":
            properties["url"] += p
        elif properties["url"] == "/blog/":
            properties["url"] += rng.choice(BLOG_POSTS)
        if campaign != "monthly-digest":
            properties["product"] = p
        return "email_click", properties
    if action == "form":
        form, url = rng.choice(FORMS)
        return "form_submit", {"form": form, "url": url, "product": p}
    if action == "subscribe":
        return "blog_subscribe", {"url": "/blog", "list": "weekly-digest"}
    if action == "feature":
        return "feature_used", {"feature": rng.choice(FEATURES[p]), "product": p}
    if action == "support":
        priority = rng.choice(("low", "normal", "normal", "high"))
        return "support_ticket", {"priority": priority, "product": p}
    raise ValueError(action)


# actions about the person's own product (the rest may be about another one)
_OWN_PRODUCT = frozenset(("feature", "support", "docs"))
_OTHER_PRODUCT = frozenset(("cross_product", "cross_download"))


def _persona_table(persona: str, product: int, rng: random.Random) -> list[tuple[str, dict]]:
    """2**TABLE_BITS ready-made events in the persona's proportions, for one main product."""
    weights = {**PROSPECT_PERSONAS, **CUSTOMER_PERSONAS}[persona]
    size = 1 << TABLE_BITS
    total = sum(weights.values())
    edges = list(accumulate(w / total for w in weights.values()))
    actions = list(weights)
    main = PRODUCTS[product]
    others = [p for p in PRODUCTS if p != main]
    table = []
    for slot in range(size):
        action = actions[min(bisect(edges, (slot + 0.5) / size), len(actions) - 1)]
        if action in _OWN_PRODUCT:
            p = main
        elif action in _OTHER_PRODUCT:
            p = rng.choice(others)
        else:  # mostly the product the person cares about
            p = main if rng.random() < 0.7 else rng.choice(others)
        table.append(_action(rng, action, p))
    rng.shuffle(table)
    return table


def _tables() -> list[list[tuple[str, dict]]]:
    rng = random.Random(20261101)
    return [_persona_table(persona, product, rng) for persona in PERSONAS for product in range(3)]


def _times_of_day() -> list[int]:
    """2**TOD_BITS local seconds of the day, spread like office-hours traffic."""
    rng = random.Random(7)
    size = 1 << TOD_BITS
    total = sum(HOURS)
    edges = list(accumulate(h / total for h in HOURS))
    return [
        min(bisect(edges, (slot + 0.5) / size), 23) * 3600 + rng.randrange(3600)
        for slot in range(size)
    ]


def _sessions() -> list[tuple[int, ...]]:
    """2**SESSION_BITS sessions: the seconds from its start to each of its events."""
    rng = random.Random(11)
    size = 1 << SESSION_BITS
    sessions = []
    for slot in range(size):
        offsets = [0]
        for _ in range(SESSION_SIZES[slot * len(SESSION_SIZES) // size] - 1):
            offsets.append(offsets[-1] + 15 + rng.randrange(300))
        sessions.append(tuple(offsets))
    rng.shuffle(sessions)
    return sessions


_TABLES: list[list[tuple[str, dict]]] | None = None
_TOD: list[int] = []
_SESSIONS: list[tuple[int, ...]] = []
_CLOCK: list[str] = []  # second of the day -> "THH:MM:SSZ"
_THOUSANDS = [f"{n:03d}" for n in range(1000)]


def _prepare() -> None:
    global _TABLES, _TOD, _SESSIONS, _CLOCK
    if _TABLES is None:
        _TOD = _times_of_day()
        _SESSIONS = _sessions()
        _CLOCK = [f"T{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}Z" for s in range(DAY)]
        _TABLES = _tables()


# ---------------------------------------------------------------------------------------------


class _Weighted:
    """Weighted choice by bisection over cumulative weights."""

    def __init__(self, pairs):
        self.values = [p[:-1] if len(p) > 2 else p[0] for p in pairs]
        self.edges = list(accumulate(p[-1] for p in pairs))
        self.total = self.edges[-1]

    def pick(self, rng: random.Random):
        return self.values[bisect(self.edges, rng.random() * self.total)]


_INDUSTRY = _Weighted(INDUSTRIES)
_COUNTRY = _Weighted(tuple((code, v[0]) for code, v in COUNTRIES.items()))
_SIZE = _Weighted(SIZES)
_TITLE = _Weighted(TITLES)
_SOURCE = _Weighted(SOURCES)
_PLAN = _Weighted(PLANS)
_HEALTH = _Weighted(HEALTH)
_N_BRANDS = len(BRAND_HEAD) * len(BRAND_MIDDLE) * len(BRAND_TAIL)
_N_NAMES = _N_BRANDS * SLOTS
_STRIDE = 1_000_003  # prime, not a divisor of _N_NAMES: index -> name is a permutation


def _name_parts(index: int) -> tuple[str, int, int]:
    """(brand, word slot, repeat) for a company index; unique for every index."""
    repeat, rest = divmod(index, _N_NAMES)
    code = (rest * _STRIDE + 12_345) % _N_NAMES
    code, slot = divmod(code, SLOTS)
    code, tail = divmod(code, len(BRAND_TAIL))
    head, middle = divmod(code, len(BRAND_MIDDLE))
    brand = BRAND_HEAD[head] + BRAND_MIDDLE[middle] + BRAND_TAIL[tail]
    return brand, slot, repeat


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
        _prepare()
        # ISO date prefixes for every day the data can touch
        self._first_day = (self.end - days * DAY) // DAY - 1
        self._dates = [
            time.strftime("%Y-%m-%d", time.gmtime((self._first_day + i) * DAY))
            for i in range(days + 3)
        ]

    def _iso(self, at: int) -> str:
        return self._dates[at // DAY - self._first_day] + _CLOCK[at % DAY]

    # companies and people --------------------------------------------------------------------

    def _company(self, rng: random.Random, index: int) -> dict[str, Any]:
        industry = _INDUSTRY.pick(rng)
        country = _COUNTRY.pick(rng)
        low, high = _SIZE.pick(rng)
        employees = int(math.exp(rng.uniform(math.log(low), math.log(high + 1))))
        brand, slot, repeat = _name_parts(index)
        word = INDUSTRY_WORDS[industry][slot]
        name = f"{brand} {word}" + (f" {repeat + 1}" if repeat else "")
        tld = COUNTRIES[country][3] if rng.random() < 0.55 else rng.choice(("com", "com", "io"))
        domain = f"{brand}{word}{repeat or ''}.{tld}".lower()
        per_head = {"software": 180_000, "financial services": 260_000, "retail": 90_000}.get(
            industry, 140_000
        )
        company: dict[str, Any] = {
            "domain": domain,
            "name": name,
            "industry": industry,
            "employees": employees,
            "revenue": int(employees * per_head * rng.lognormvariate(0, 0.35)) // 10_000 * 10_000,
            "country": country,
        }
        return company

    def _make_customer(self, rng: random.Random, company: dict[str, Any]) -> None:
        plan = _PLAN.pick(rng)
        if company["employees"] >= 1000 and plan == "starter":
            plan = "growth"
        owned = rng.choice(PRODUCTS)
        products = [owned] + [p for p in PRODUCTS if p != owned and rng.random() < 0.2]
        company["plan"] = plan
        company["seats"] = max(
            3, int(company["employees"] ** 0.75 * {"starter": 0.2, "growth": 0.5}.get(plan, 1.0))
        )
        company["products"] = products
        company["health"] = _HEALTH.pick(rng)
        company["customer_since"] = f"{rng.randint(2018, 2025)}-{rng.randint(1, 12):02d}"

    def _walk(self) -> Iterator[tuple[dict[str, Any], tuple]]:
        """Every lead with its hidden traits, in order, from one random stream."""
        rng = random.Random(self.seed)
        rand = rng.random
        pool: list[list] = []  # open companies: [company, leads still to come, is customer]
        next_company = 0

        def new_company() -> list:
            nonlocal next_company
            if rand() < 0.004:
                return [rng.choice(COMPETITORS), 1 + int(rng.expovariate(0.5)), False]
            company = self._company(rng, next_company)
            next_company += 1
            customer = rand() < 0.12
            if customer:
                self._make_customer(rng, company)
            extra = 1.25 + 0.5 * math.log10(company["employees"])
            return [company, 1 + int(rng.expovariate(1.0 / extra)), customer]

        for i in range(1, self.n_leads + 1):
            if len(pool) < 64:
                pool.append(new_company())
            slot = rng.randrange(len(pool))
            entry = pool[slot]
            company, customer_company = entry[0], entry[2]
            entry[1] -= 1
            if entry[1] <= 0:
                pool[slot] = new_company()
            yield self._person(rng, i, company, customer_company)

    def _person(
        self, rng: random.Random, i: int, company: dict[str, Any], customer_company: bool
    ) -> tuple[dict[str, Any], tuple]:
        rand = rng.random
        first, last = rng.choice(FIRST), rng.choice(LAST)
        title, seniority = _TITLE.pick(rng)
        small = company["employees"] < 50
        if small and seniority in ("vp", "head", "director") and rand() < 0.5:
            title, seniority = rng.choice((("Founder & CEO", "c-level"), ("Owner", "c-level")))
        competitor = company["domain"] in COMPETITOR_DOMAINS
        free_mail = rand() < (0.3 if seniority == "entry" else 0.07)
        local = rng.choice((f"{first}.{last}", f"{first[0]}.{last}", f"{first}{last[0]}", first))
        domain = rng.choice(FREE_MAIL) if free_mail else company["domain"]
        country = company["country"] if rand() < 0.9 else _COUNTRY.pick(rng)
        person: dict[str, Any] = {
            "first_name": first,
            "last_name": last.replace("-", " "),
            "email": f"{local.lower()}@{domain}",
            "title": title,
            "seniority": seniority,
            "country": country,
        }
        if rand() < {"entry": 0.3, "individual": 0.5}.get(seniority, 0.72):
            code = COUNTRIES[country][1]
            person["phone"] = f"+{code} {rng.randint(20, 999)} {rng.randint(100000, 9999999)}"
        product = rng.randrange(3)
        interests = [PRODUCTS[product]]
        if rand() < 0.3:
            interests.append(PRODUCTS[(product + rng.randint(1, 2)) % 3])
        person["interests"] = interests
        person["source"] = _SOURCE.pick(rng)

        size = company["employees"]
        fitness = (
            0.22 * (company["industry"] in TARGET_INDUSTRIES)
            + (0.2 if size >= 1000 else 0.22 if size >= 200 else 0.12 if size >= 50 else 0.0)
            + 0.1 * (company["country"] in TARGET_COUNTRIES)
            + SENIORITY_FIT[seniority]
            + 0.05 * ("phone" in person)
            - 0.1 * free_mail
            + 0.16 * rand()
            - 0.06
        )
        fitness = 0.0 if competitor else max(0.0, min(1.0, fitness))

        customer = customer_company and rand() < 0.8
        if customer:
            lifecycle = "customer"
            owned = PRODUCTS.index(company["products"][0])
            person["role"] = rng.choice(("admin", "user", "user", "user", "billing"))
            # for a customer, fit is room to grow: a big, healthy account on a paid plan
            fitness = max(
                0.0,
                min(
                    1.0,
                    (0.25 if size >= 1000 else 0.15 if size >= 200 else 0.0)
                    + 0.15 * (company["plan"] != "starter")
                    + 0.15 * (company["seats"] >= 50)
                    + 0.1 * (company["health"] == "green")
                    - 0.3 * (company["health"] == "red")
                    + 0.15 * (person["role"] == "admin" or seniority in ("c-level", "vp", "head"))
                    + 0.1 * (company["industry"] in TARGET_INDUSTRIES)
                    + 0.15 * rand()
                    - 0.05,
                ),
            )
            explorer = 0.15 + 0.35 * fitness
            r = rand()
            persona = "explorer" if r < explorer else "struggling" if r > 0.85 else "user"
            if company["health"] == "red" and rand() < 0.5:
                persona = "struggling"
            product = owned  # customer tables mix in the other products themselves
        else:
            r = rand()
            if competitor:
                lifecycle = "disqualified" if r < 0.7 else "lead"
            elif r < (0.15 if seniority == "entry" else 0.015):
                lifecycle = "disqualified"
            else:
                r = rand()
                opportunity, sql, mql = (
                    0.01 + 0.07 * fitness,
                    0.015 + 0.06 * fitness,
                    0.04 + 0.08 * fitness,
                )
                lifecycle = (
                    "opportunity"
                    if r < opportunity
                    else "sql"
                    if r < opportunity + sql
                    else "mql"
                    if r < opportunity + sql + mql
                    else "lead"
                )
            if seniority == "entry":
                persona = "job_seeker" if rand() < 0.3 else "student"
            elif rand() < (0.06 if seniority == "individual" else 0.015):
                persona = "job_seeker"
            else:
                persona = "buyer" if rand() < 0.15 + 0.75 * fitness else "researcher"
        person["lifecycle"] = lifecycle
        if rand() < {"lead": 0.4, "mql": 0.8, "disqualified": 0.5}.get(lifecycle, 1.0):
            person["owner"] = rng.choice(OWNERS)

        # engagement: how many events (relative weight) and how recent they are
        if customer:
            weight = (0.7 + 1.0 * fitness) * rng.lognormvariate(0, 0.6) * 2.5
        elif rand() < (0.3 if persona == "student" else 0.24 - 0.18 * fitness):
            weight = 0.0  # known, but never seen on the site (lists, trade shows)
        else:
            weight = (0.2 + 1.9 * fitness) * rng.lognormvariate(0, 0.85)
        weight = min(weight, 14.0)
        # a person is busy in bursts (a research phase, a buying cycle); the main burst is the
        # more recent the better the fit: its age is days × u^k, k > 1 pulling towards `end`
        steep = math.exp(rng.gauss(math.log(0.8 + 2.2 * fitness), 0.6))
        burst = self.days * rand() ** steep

        lead = {"id": f"L-{i:07d}", "person": person, "company": dict(company)}
        traits = (
            fitness,
            weight,
            burst,
            PERSONAS.index(persona) * 3 + product,
            COUNTRIES[country][2],
            LIFECYCLE_CODES.index(lifecycle),
            size,
        )
        return lead, traits

    def _traits(self) -> dict[str, array]:
        """Hidden traits of every lead in compact arrays (about 40 bytes a lead)."""
        if self._latent is None:
            for _ in self._walk_recording():
                pass
        assert self._latent is not None
        return self._latent

    def _walk_recording(self) -> Iterator[dict[str, Any]]:
        columns = {
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
        tod = _TOD
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
        sessions = _SESSIONS
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
        tables = _TABLES
        assert tables is not None
        dates, first_day, clock = self._dates, self._first_day, _CLOCK
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
            customer = table_of[index] >= _CUSTOMER_TABLES
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
            at = ((self.end - 1) // DAY - age) * DAY + _TOD[rng.getrandbits(TOD_BITS)]
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
