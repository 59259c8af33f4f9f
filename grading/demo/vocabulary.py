"""The words and weights the demo data is drawn from: names, companies, industries, countries,
company sizes, titles and seniority, lead sources, customers' plans; and the weighted choice over
them. Stdlib only (see grading/demo/dataset.py for why)."""

from __future__ import annotations

import random
from bisect import bisect
from itertools import accumulate

DAY = 86400


def table_rows(text: str) -> list[list[str]]:
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
INDUSTRY_ROWS = table_rows("""
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
INDUSTRIES = tuple((name, float(weight)) for name, weight, _ in INDUSTRY_ROWS)
INDUSTRY_WORDS = {name: tuple(words.split()) for name, _, words in INDUSTRY_ROWS}
SLOTS = 6  # words per industry
TARGET_INDUSTRIES = frozenset(("software", "manufacturing", "financial services", "healthcare"))
# country: weight, phone code, time zone (hours from UTC), country-code domain
COUNTRIES = {
    code: (float(weight), phone, int(zone), tld)
    for code, weight, phone, zone, tld in table_rows("""
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
    for title, seniority, weight in table_rows("""
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
    for name, weight in table_rows("""
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
    for domain, name, employees, revenue, country in table_rows("""
rivalsoft.com  RivalSoft  420 61000000 US
scorebase.io   Scorebase   85  9500000 DE
leadmetric.com LeadMetric 230 27000000 GB
""")
)
COMPETITOR_DOMAINS = frozenset(c["domain"] for c in COMPETITORS)
LIFECYCLE_CODES = ("lead", "mql", "sql", "opportunity", "customer", "disqualified")


class Weighted:
    """Weighted choice by bisection over cumulative weights."""

    def __init__(self, pairs):
        self.values = [p[:-1] if len(p) > 2 else p[0] for p in pairs]
        self.edges = list(accumulate(p[-1] for p in pairs))
        self.total = self.edges[-1]

    def pick(self, rng: random.Random):
        return self.values[bisect(self.edges, rng.random() * self.total)]


pick_industry = Weighted(INDUSTRIES).pick
pick_country = Weighted(tuple((code, v[0]) for code, v in COUNTRIES.items())).pick
pick_size = Weighted(SIZES).pick
pick_title = Weighted(TITLES).pick
pick_source = Weighted(SOURCES).pick
pick_plan = Weighted(PLANS).pick
pick_health = Weighted(HEALTH).pick
_N_BRANDS = len(BRAND_HEAD) * len(BRAND_MIDDLE) * len(BRAND_TAIL)
_N_NAMES = _N_BRANDS * SLOTS
_STRIDE = 1_000_003  # prime, not a divisor of _N_NAMES: index -> name is a permutation


def name_parts(index: int) -> tuple[str, int, int]:
    """(brand, word slot, repeat) for a company index; unique for every index."""
    repeat, rest = divmod(index, _N_NAMES)
    code = (rest * _STRIDE + 12_345) % _N_NAMES
    code, slot = divmod(code, SLOTS)
    code, tail = divmod(code, len(BRAND_TAIL))
    head, middle = divmod(code, len(BRAND_MIDDLE))
    brand = BRAND_HEAD[head] + BRAND_MIDDLE[middle] + BRAND_TAIL[tail]
    return brand, slot, repeat
