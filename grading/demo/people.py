"""Companies and the people who work there, each lead with the hidden traits its events and
outcome follow: how well it fits, how busy it is and when, its persona, time zone and lifecycle.

What makes it look like a real funnel: companies (about three leads each) with industry, size,
revenue and country that fit together; customer companies carry their plan, seats, health and the
products they own; people with a realistic mix of titles and seniority, free-mail addresses,
missing phones, students and job seekers, and a lifecycle that follows how well they fit."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

from .behaviour import PERSONAS
from .vocabulary import (
    COMPETITOR_DOMAINS,
    COMPETITORS,
    COUNTRIES,
    FIRST,
    FREE_MAIL,
    INDUSTRY_WORDS,
    LAST,
    LIFECYCLE_CODES,
    OWNERS,
    PRODUCTS,
    SENIORITY_FIT,
    TARGET_COUNTRIES,
    TARGET_INDUSTRIES,
    name_parts,
    pick_country,
    pick_health,
    pick_industry,
    pick_plan,
    pick_size,
    pick_source,
    pick_title,
)


def walk_leads(n_leads: int, seed: int, days: int) -> Iterator[tuple[dict[str, Any], tuple]]:
    """Every lead with its hidden traits, in order, from one random stream."""
    rng = random.Random(seed)
    rand = rng.random
    pool: list[list] = []  # open companies: [company, leads still to come, is customer]
    next_company = 0

    def new_company() -> list:
        nonlocal next_company
        if rand() < 0.004:
            return [rng.choice(COMPETITORS), 1 + int(rng.expovariate(0.5)), False]
        company = make_company(rng, next_company)
        next_company += 1
        customer = rand() < 0.12
        if customer:
            make_customer(rng, company)
        extra = 1.25 + 0.5 * math.log10(company["employees"])
        return [company, 1 + int(rng.expovariate(1.0 / extra)), customer]

    for i in range(1, n_leads + 1):
        if len(pool) < 64:
            pool.append(new_company())
        slot = rng.randrange(len(pool))
        entry = pool[slot]
        company, customer_company = entry[0], entry[2]
        entry[1] -= 1
        if entry[1] <= 0:
            pool[slot] = new_company()
        yield make_lead(rng, i, company, customer_company, days)


def make_company(rng: random.Random, index: int) -> dict[str, Any]:
    industry = pick_industry(rng)
    country = pick_country(rng)
    low, high = pick_size(rng)
    employees = int(math.exp(rng.uniform(math.log(low), math.log(high + 1))))
    brand, slot, repeat = name_parts(index)
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


def make_customer(rng: random.Random, company: dict[str, Any]) -> None:
    plan = pick_plan(rng)
    if company["employees"] >= 1000 and plan == "starter":
        plan = "growth"
    owned = rng.choice(PRODUCTS)
    products = [owned] + [p for p in PRODUCTS if p != owned and rng.random() < 0.2]
    company["plan"] = plan
    company["seats"] = max(
        3, int(company["employees"] ** 0.75 * {"starter": 0.2, "growth": 0.5}.get(plan, 1.0))
    )
    company["products"] = products
    company["health"] = pick_health(rng)
    company["customer_since"] = f"{rng.randint(2018, 2025)}-{rng.randint(1, 12):02d}"


def make_lead(
    rng: random.Random, i: int, company: dict[str, Any], customer_company: bool, days: int
) -> tuple[dict[str, Any], tuple]:
    rand = rng.random
    first, last = rng.choice(FIRST), rng.choice(LAST)
    title, seniority = pick_title(rng)
    small = company["employees"] < 50
    if small and seniority in ("vp", "head", "director") and rand() < 0.5:
        title, seniority = rng.choice((("Founder & CEO", "c-level"), ("Owner", "c-level")))
    competitor = company["domain"] in COMPETITOR_DOMAINS
    free_mail = rand() < (0.3 if seniority == "entry" else 0.07)
    local = rng.choice((f"{first}.{last}", f"{first[0]}.{last}", f"{first}{last[0]}", first))
    domain = rng.choice(FREE_MAIL) if free_mail else company["domain"]
    country = company["country"] if rand() < 0.9 else pick_country(rng)
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
    person["source"] = pick_source(rng)

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
    burst = days * rand() ** steep

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
