"""Account grades (SPEC section 4, Accounts): a company graded from its leads in one model.

The account's fit is the sum of the model's fit rules that read only `company.*` fields (a rule
that also reads a person field says nothing about the company alone, so it is left out). Its
activity is the sum, or the max, of the activity scores of its leads in the model's audience.
Letters and numbers come from the model's `accounts` thresholds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from .conditions import condition_fields
from .model import Aggregate, FitRule, Model
from .scoring import activity_number, add_in_order, fit_letter

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


def grade_account(
    model: Model, company: Mapping[str, Any], leads: Iterable[AccountLead]
) -> AccountGrade | None:
    """The account grade of one company in one model (see AccountGrader.grade)."""
    return AccountGrader(model).grade(company, leads)
