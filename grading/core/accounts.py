"""Account grades (SPEC section 4, Accounts): a company graded from its leads in one model.

The account's fit is the sum of the model's fit rules that read only `company.*` fields (a rule
that also reads a person field says nothing about the company alone, so it is left out). Its
activity is the sum, or the max, of the activity scores of its leads in the model's audience.
Letters and numbers come from the model's `accounts` thresholds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypedDict

import numpy as np
import numpy.typing as npt
import orjson

from .batch import activity_numbers, lead_columns, rounded
from .conditions import compile_columns, condition_fields
from .model import Aggregate, FitRule, Model
from .scoring import STORED_DECIMALS, activity_number, add_in_order, fit_letter, stored

TOP_LEADS = 5  # leads named in an account's explanation: the ones that contributed most
LeadKey = int | str  # the caller's key for a lead (the store uses its row id)


class FitHitDict(TypedDict):
    rule: str
    label: str | None
    dimension: str  # always "fit"
    points: float


class TopLeadDict(TypedDict):
    lead: LeadKey
    activity_score: float


class AccountActivityDict(TypedDict):
    aggregate: Aggregate
    leads: int
    score: float
    top: list[TopLeadDict]


class AccountExplanation(TypedDict):
    """An account grade's explanation as stored and shown (AccountGrade.explanation)."""

    fit: list[FitHitDict]
    activity: AccountActivityDict


@dataclass(frozen=True)
class AccountLead:
    lead: LeadKey
    activity_score: float  # the lead's main activity score in the model
    # person.* and company.* fields, for the audience; None: the caller knows the lead is in the
    # audience (the store passes only leads with a grade in the model, which only they have)
    record: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class AccountGrade:
    model: str
    fit_score: float
    fit: str
    activity_score: float
    activity: int
    leads: int  # leads of the company in the model's audience
    fit_hits: tuple[tuple[str, str | None, float], ...]  # (rule id, label, points)
    top: tuple[tuple[LeadKey, float], ...]  # (lead, activity score), most contributing first
    aggregate: Aggregate

    @property
    def grade(self) -> str:
        return f"{self.fit}{self.activity}"

    def stored_row(self) -> tuple[float, float, str, int, str, int, str]:
        """As the store keeps it: scores as lead grades' (rounded only where shown), and the
        explanation as JSON text."""
        return (
            stored(self.fit_score),
            stored(self.activity_score),
            self.fit,
            self.activity,
            self.grade,
            self.leads,
            orjson.dumps(self.explanation()).decode(),
        )

    def explanation(self) -> AccountExplanation:
        """JSON-ready: the company rules that hit, the aggregate and the top leads (by key)."""
        return {
            "fit": [
                {"rule": rule, "label": label, "dimension": "fit", "points": round(points, 2)}
                for rule, label, points in self.fit_hits
            ],
            "activity": {
                "aggregate": self.aggregate,
                "leads": self.leads,
                "score": round(self.activity_score, 2),
                "top": [
                    {"lead": lead, "activity_score": round(score, 2)} for lead, score in self.top
                ],
            },
        }


def is_company_rule(rule: FitRule) -> bool:
    """Whether every field the rule reads is a company field."""
    return all(field.startswith("company.") for field in condition_fields(rule.when))


def company_rules(model: Model) -> tuple[FitRule, ...]:
    return tuple(rule for rule in model.fit_rules if is_company_rule(rule))


def company_record(company: Mapping[str, Any]) -> dict[str, Any]:
    return {f"company.{key}": value for key, value in company.items()}


class AccountGrader:
    """Grades the accounts of one model; its company rules are picked once, not once per company."""

    def __init__(self, model: Model):
        self.model = model
        self.rules = company_rules(model)
        self.tests = [compile_columns(rule.when) for rule in self.rules]  # for grade_columns

    def grade(
        self, company: Mapping[str, Any], leads: Iterable[AccountLead]
    ) -> AccountGrade | None:
        """The account grade of one company; None when the model grades no accounts or none of
        the company's leads is in the model's audience."""
        model, accounts = self.model, self.model.accounts
        if accounts is None:
            return None
        members = [lead for lead in leads if lead.record is None or model.in_audience(lead.record)]
        if not members:
            return None
        record = company_record(company)
        hits = tuple((rule.id, rule.label, rule.points) for rule in self.rules if rule.test(record))
        fit_score = add_in_order(points for _, _, points in hits)
        scores = [lead.activity_score for lead in members]
        activity_score = max(scores) if accounts.activity == "max" else add_in_order(scores)
        # most contributing first; ties by key, so the explanation does not depend on input order
        ranked = sorted(members, key=lambda lead: (-lead.activity_score, lead.lead))
        return AccountGrade(
            model=model.name,
            fit_score=fit_score,
            fit=fit_letter(fit_score, accounts.fit_thresholds),
            activity_score=activity_score,
            activity=activity_number(activity_score, accounts.activity_thresholds),
            leads=len(members),
            fit_hits=hits,
            top=tuple((lead.lead, lead.activity_score) for lead in ranked[:TOP_LEADS]),
            aggregate=accounts.activity,
        )

    def grade_columns(
        self,
        companies: Sequence[Mapping[str, Any]],
        starts: npt.NDArray[np.intp],
        lead: npt.NDArray[np.int64],
        score: npt.NDArray[np.float64],
    ) -> AccountColumns | None:
        """`grade` of many companies at once, each with at least one lead and every lead in the
        audience (AccountLead without a record): company i's leads are lead[starts[i]:
        starts[i+1]] with their activity scores, added in that order as the reference adds them.
        None when the model grades no accounts."""
        accounts = self.model.accounts
        if accounts is None:
            return None
        size, count = len(lead), len(companies)
        group = np.repeat(np.arange(count), np.diff(np.append(starts, size)))
        levels = _group_levels(starts, size)
        if accounts.activity == "max":
            total = score[starts] if size else np.zeros(0)  # max() starts from the first lead
            for level in levels[1:]:  # and keeps the first of equals (-0.0 before 0.0)
                members, here = group[level], score[level]
                total[members] = np.where(here > total[members], here, total[members])
        else:
            total = np.zeros(count)  # add_in_order starts from 0: 0 + -0.0 is 0.0
            with np.errstate(over="ignore", invalid="ignore"):  # past float's range: as Python
                for level in levels:  # one lead of each company at a time, in the leads' order
                    total[group[level]] += score[level]
        number = activity_numbers(total, accounts.activity_thresholds)
        fit, fits = self._fit_columns(companies)
        # the top leads: most contributing first, ties by lead (the reference's ranking)
        ranked = np.lexsort((lead, -score, group))
        place = np.arange(size) - starts[group[ranked]]
        top = ranked[place < TOP_LEADS]
        top_start = np.searchsorted(group[top], np.arange(count + 1))
        shown = _json_numbers(rounded(score[top], 2))
        top_text = [
            f'{{"lead":{key},"activity_score":{value}}}'
            for key, value in zip(lead[top].tolist(), shown, strict=True)
        ]
        leads = np.diff(np.append(starts, size))
        return AccountColumns(fit, fits, total, number, leads, top_start, top_text)

    def _fit_columns(
        self, companies: Sequence[Mapping[str, Any]]
    ) -> tuple[npt.NDArray[np.intp], list[AccountFit]]:
        columns = lead_columns([{}] * len(companies), companies)
        hits = np.zeros((len(companies), len(self.rules)), dtype=bool)
        for r, test in enumerate(self.tests):
            hits[:, r] = test(columns)
        if len(self.rules) < 63:  # each company's hits as the bits of one number: a 1-d unique
            bits = np.int64(1) << np.arange(len(self.rules), dtype=np.int64)
            keys, fit = np.unique(hits.astype(np.int64) @ bits, return_inverse=True)
            masks = (keys[:, None] & bits).astype(bool)
        else:
            masks, fit = np.unique(hits, axis=0, return_inverse=True)
        return fit.reshape(-1), [self._fit_of(mask.tolist()) for mask in masks]

    def _fit_of(self, hits: list[bool]) -> AccountFit:
        accounts = self.model.accounts
        assert accounts is not None
        held = [rule for rule, hit in zip(self.rules, hits, strict=True) if hit]
        score = add_in_order(rule.points for rule in held)
        items = [
            {
                "rule": rule.id,
                "label": rule.label,
                "dimension": "fit",
                "points": round(rule.points, 2),
            }
            for rule in held
        ]
        text = orjson.dumps({"fit": items, "activity": {"aggregate": accounts.activity}}).decode()
        head = f'{text[:-2]},"leads":'  # (the activity object stays open for leads, score, top)
        return AccountFit(score, fit_letter(score, accounts.fit_thresholds), head)


class Members(NamedTuple):
    """The leads of many companies as columns, for AccountGrader.grade_columns: company[i]'s
    leads are lead[starts[i]:starts[i + 1]]."""

    company: npt.NDArray[np.int64]  # the distinct companies, in the rows' order
    starts: npt.NDArray[np.intp]
    lead: npt.NDArray[np.int64]
    score: npt.NDArray[np.float64]

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[int, int, float]]) -> Members:
        """(company, lead, activity score) rows, each company's together."""
        array = np.array(rows, dtype=[("company", "i8"), ("lead", "i8"), ("score", "f8")])
        company = array["company"]
        new = np.append(True, company[1:] != company[:-1]) if len(rows) else np.zeros(0, bool)
        starts = np.flatnonzero(new).astype(np.intp)
        return cls(company[starts], starts, array["lead"], array["score"])


class AccountFit(NamedTuple):
    """The account fit shared by every company whose company rules hold alike."""

    score: float
    letter: str
    explanation_head: str  # the explanation's JSON text up to the number of leads


class AccountColumns(NamedTuple):
    """The account grades of many companies, as columns (AccountGrader.grade_columns): company
    i's row in the store is `row(i)`, the same as the reference's for that company."""

    fit: npt.NDArray[np.intp]  # per company: index into `fits`
    fits: list[AccountFit]
    activity_score: npt.NDArray[np.float64]  # unrounded
    activity: npt.NDArray[np.int64]
    leads: npt.NDArray[np.int64]
    top_start: npt.NDArray[np.intp]  # company i's top leads: top_text[top_start[i]:top_start[i+1]]
    top_text: list[str]  # one {"lead": .., "activity_score": ..} of the explanation, as JSON

    def rows(self) -> list[tuple[float, float, str, int, str, int, str]]:
        """Per company: AccountGrade.stored_row() of its grade."""
        fits = [(stored(f.score), f.letter, f.explanation_head) for f in self.fits]
        scores = rounded(self.activity_score, STORED_DECIMALS).tolist()
        shown = _json_numbers(rounded(self.activity_score, 2))
        starts, top = self.top_start.tolist(), self.top_text
        out = []
        for i, (fit, score, number, leads) in enumerate(
            zip(self.fit.tolist(), scores, self.activity.tolist(), self.leads.tolist(), strict=True)
        ):
            fit_score, letter, head = fits[fit]
            entries = ",".join(top[starts[i] : starts[i + 1]])
            explanation = f'{head}{leads},"score":{shown[i]},"top":[{entries}]}}}}'
            out.append((fit_score, score, letter, number, f"{letter}{number}", leads, explanation))
        return out


def _json_numbers(values: npt.NDArray[np.float64]) -> list[str]:
    """Each float as orjson writes it (one call for all: the text of a list, split at commas)."""
    if not len(values):
        return []
    return orjson.dumps(values.tolist()).decode()[1:-1].split(",")


def _group_levels(starts: npt.NDArray[np.intp], size: int) -> list[npt.NDArray[np.intp]]:
    """Members by their place in their group: levels[k] holds the k-th member of every group
    that has one, so adding level after level adds each group's members in their order."""
    counts = np.diff(np.append(starts, size))
    group = np.repeat(np.arange(len(starts)), counts)
    place = np.arange(size) - starts[group]
    order = np.argsort(place, kind="stable")
    bounds = np.searchsorted(place[order], np.arange(int(counts.max(initial=0)) + 1))
    return [order[bounds[k] : bounds[k + 1]] for k in range(len(bounds) - 1)]


def grade_account(
    model: Model, company: Mapping[str, Any], leads: Iterable[AccountLead]
) -> AccountGrade | None:
    """The account grade of one company in one model (see AccountGrader.grade)."""
    return AccountGrader(model).grade(company, leads)
