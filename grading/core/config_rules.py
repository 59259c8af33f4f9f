"""Reading the rules of the model file: conditions (SPEC section 3, Conditions), fit rules and
activity rules with their block (window, decay, thresholds)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .conditions import COMBINATORS, NUMERIC_OPERATORS, OPERATORS, compile_condition
from .config_checks import MAX_DAYS, Checker, join, kind
from .model import ACTIVITY_NUMBERS, DEFAULT_WINDOW_DAYS, ActivityBlock, ActivityRule, FitRule
from .patterns import PatternError, compile_pattern

LEAD_NAMESPACES = ("person", "company")
ACTIVITY_RULE_KEYS = (
    "id",
    "label",
    "event",
    "where",
    "points",
    "min_count",
    "max_points",
    "within_days",
)


# conditions ----------------------------------------------------------------------------------


def check_condition(
    check: Checker, value: Any, path: str, namespaces: tuple[str, ...] | None
) -> bool:
    """Check a condition; namespaces=None means event-property fields."""
    if not isinstance(value, Mapping):
        check.fail(path, f"a condition must be a mapping, not {kind(value)}")
        return False
    ok = True
    combinators = [k for k in value if k in COMBINATORS]
    if combinators:
        if len(value) != 1:
            check.fail(path, f"'{combinators[0]}' must stand alone in its condition")
            return False
        key = combinators[0]
        if key == "not":
            return check_condition(check, value["not"], join(path, "not"), namespaces)
        parts = check.items(value[key], join(path, key))
        for i, part in enumerate(parts):
            ok = check_condition(check, part, f"{join(path, key)}[{i}]", namespaces) and ok
        return ok and bool(parts)
    if "field" not in value:
        check.fail(path, "a condition needs 'field' and one operator, or all/any/not")
        return False
    ok = _field(check, value["field"], join(path, "field"), namespaces)
    operators = [k for k in value if k != "field"]
    for key in operators:
        if key not in OPERATORS:
            check.fail(path, f"unknown operator '{key}'")
            ok = False
    known = [k for k in operators if k in OPERATORS]
    if not operators:
        check.fail(path, "needs an operator (one of " + ", ".join(OPERATORS) + ")")
        return False
    if len(known) > 1:
        check.fail(path, "exactly one operator per condition, found " + ", ".join(known))
        return False
    if known:
        ok = _operand(check, known[0], value[known[0]], join(path, known[0])) and ok
    return ok


def _field(check: Checker, value: Any, path: str, namespaces: tuple[str, ...] | None) -> bool:
    if check.text(value, path) is None:
        return False
    if namespaces is None:
        if value.split(".", 1)[0] in LEAD_NAMESPACES:
            check.fail(path, f"'{value}': event conditions use property keys (url, product, type)")
            return False
        return True
    namespace, _, key = value.partition(".")
    if namespace not in namespaces or not key:
        check.fail(
            path,
            f"unknown namespace in '{value}': use " + " or ".join(f"{n}.KEY" for n in namespaces),
        )
        return False
    return True


def _operand(check: Checker, op: str, value: Any, path: str) -> bool:
    scalar = (str, int, float, bool)
    if op in ("equals", "not_equals"):
        if not isinstance(value, scalar):
            check.fail(path, f"must be a string, number or boolean, not {kind(value)}")
            return False
    elif op in ("in", "not_in"):
        items = check.items(value, path)
        bad = [i for i, v in enumerate(items) if not isinstance(v, scalar)]
        for i in bad:
            check.fail(f"{path}[{i}]", "must be a string, number or boolean")
        return bool(items) and not bad
    elif op == "between":
        if not isinstance(value, list) or len(value) != 2:
            check.fail(path, "must be a list [low, high]")
            return False
        lo, hi = check.number(value[0], f"{path}[0]"), check.number(value[1], f"{path}[1]")
        if lo is None or hi is None:
            return False
        if lo > hi:
            check.fail(path, f"low {value[0]} is above high {value[1]}")
            return False
    elif op in NUMERIC_OPERATORS:
        return check.number(value, path) is not None
    elif op == "matches":
        if check.text(value, path) is None:
            return False
        try:
            compile_pattern(value)
        except PatternError as exc:
            check.fail(path, str(exc))
            return False
    elif op == "contains":
        return check.text(value, path) is not None
    elif op == "present":
        if not isinstance(value, bool):
            check.fail(path, f"must be true or false, not {kind(value)}")
            return False
    return True


# rules ---------------------------------------------------------------------------------------


def read_fit_rules(check: Checker, value: Any, path: str) -> tuple[FitRule, ...]:
    rules: list[FitRule] = []
    ids: list[tuple[str | None, str]] = []
    for i, raw in enumerate(check.items(value, path, allow_empty=True)):
        where = f"{path}[{i}]"
        rule = check.mapping(
            raw, where, ("id", "label", "when", "points"), ("id", "when", "points")
        )
        if rule is None:
            continue
        rule_id = check.name(rule.get("id"), join(where, "id")) if "id" in rule else None
        ids.append((rule_id, join(where, "id")))
        points = check.number(rule["points"], join(where, "points")) if "points" in rule else None
        label = check.label(rule, where)
        ok = "when" in rule and check_condition(
            check, rule["when"], join(where, "when"), LEAD_NAMESPACES
        )
        if ok and rule_id and points is not None:
            rules.append(
                FitRule(rule_id, points, rule["when"], compile_condition(rule["when"]), label)
            )
    check.unique(ids, "rule id")
    return tuple(rules)


def _activity_rule(check: Checker, raw: Any, where: str) -> tuple[str | None, ActivityRule | None]:
    rule = check.mapping(raw, where, ACTIVITY_RULE_KEYS, ("id", "points"))
    if rule is None:
        return None, None
    rule_id = check.name(rule.get("id"), join(where, "id")) if "id" in rule else None
    points = check.number(rule["points"], join(where, "points")) if "points" in rule else None
    ok = True
    event_types = None
    if "event" in rule:
        event = rule["event"]
        event = [event] if isinstance(event, str) else event
        types = check.items(event, join(where, "event"))
        for j, t in enumerate(types):
            ok = check.text(t, f"{join(where, 'event')}[{j}]") is not None and ok
        event_types = tuple(t for t in types if isinstance(t, str))
        ok = ok and bool(types)
    test = None
    if "where" in rule:
        if check_condition(check, rule["where"], join(where, "where"), None):
            test = compile_condition(rule["where"])
        else:
            ok = False
    min_count = max_points = within_days = None
    if "min_count" in rule:
        min_count = check.whole(rule["min_count"], join(where, "min_count"))
        ok = ok and min_count is not None
    if "max_points" in rule:
        max_points = check.number(rule["max_points"], join(where, "max_points"), positive=True)
        ok = ok and max_points is not None
    if "within_days" in rule:
        within_days = check.whole(rule["within_days"], join(where, "within_days"), maximum=MAX_DAYS)
        ok = ok and within_days is not None
    label = check.label(rule, where)
    if not ok or rule_id is None or points is None:
        return rule_id, None
    return rule_id, ActivityRule(
        id=rule_id,
        points=points,
        event_types=event_types,
        where=rule.get("where"),
        test=test,
        min_count=min_count,
        max_points=max_points,
        within_days=within_days,
        label=label,
    )


def read_activity_block(check: Checker, value: Any, path: str) -> ActivityBlock | None:
    block = check.mapping(
        value,
        path,
        ("window_days", "half_life_days", "rules", "thresholds"),
        ("rules", "thresholds"),
    )
    if block is None:
        return None
    window: int | None = DEFAULT_WINDOW_DAYS
    if "window_days" in block:
        window = check.whole(block["window_days"], join(path, "window_days"), maximum=MAX_DAYS)
    half_life = None
    if "half_life_days" in block:
        half_life = check.number(
            block["half_life_days"], join(path, "half_life_days"), positive=True
        )
    rules: list[ActivityRule] = []
    ids: list[tuple[str | None, str]] = []
    rules_path = join(path, "rules")
    for i, raw in enumerate(
        check.items(block.get("rules"), rules_path, allow_empty=True) if "rules" in block else []
    ):
        rule_id, rule = _activity_rule(check, raw, f"{rules_path}[{i}]")
        ids.append((rule_id, f"{rules_path}[{i}].id"))
        if rule is not None:
            rules.append(rule)
    check.unique(ids, "rule id")
    thresholds = None
    if "thresholds" in block:
        thresholds = check.thresholds(
            block["thresholds"], join(path, "thresholds"), ACTIVITY_NUMBERS
        )
    if thresholds is None or window is None or ("half_life_days" in block and half_life is None):
        return None
    return ActivityBlock(tuple(rules), thresholds, window, half_life)
