"""What people do: actions, personas and their mix, times of day and sessions.

Each persona (researcher, buyer, job seeker, student; for customers: user, explorer, struggling)
becomes a table of ready-made events in its proportions, one per main product, so that one random
draw picks an event. The tables are built once per process, from fixed seeds."""

from __future__ import annotations

import random
from bisect import bisect
from functools import cache
from itertools import accumulate
from typing import Any, NamedTuple

from .vocabulary import DAY, PRODUCTS, table_rows

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
_PRODUCT_ROWS = table_rows("""
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
    header, *rows = table_rows(text)
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
CUSTOMER_TABLES = len(PROSPECT_PERSONAS) * 3  # table numbers from here on are customers'

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


class Prepared(NamedTuple):
    tables: list[list[tuple[str, dict]]]  # by PERSONAS.index(persona) * 3 + product
    times_of_day: list[int]  # 2**TOD_BITS local seconds of the day
    sessions: list[tuple[int, ...]]  # 2**SESSION_BITS sessions
    clock: list[str]  # second of the day -> "THH:MM:SSZ"


@cache
def prepared() -> Prepared:
    """The tables every data set draws from, built on first use (they take a moment)."""
    times_of_day = _times_of_day()
    sessions = _sessions()
    clock = [f"T{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}Z" for s in range(DAY)]
    return Prepared(_tables(), times_of_day, sessions, clock)
