"""The model file: a YAML-loaded dict -> ``Config``, with every problem listed by its path.

``load_config(data)`` never stops at the first problem: it walks the whole file, collects
``"models[0].fit.rules[3].when: unknown operator 'greater'"`` style messages and raises one
``ConfigError`` carrying all of them.
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from .conditions import (
    COMBINATORS,
    NUMERIC_OPERATORS,
    OPERATORS,
    PatternError,
    compile_condition,
    compile_pattern,
)
from .model import (
    ACTIVITY_NUMBERS,
    DEFAULT_WINDOW_DAYS,
    FIT_LETTERS,
    WEBHOOK_EVENTS,
    Accounts,
    ActivityBlock,
    ActivityRule,
    Category,
    Config,
    FitRule,
    Model,
    Route,
    RoutingEntry,
    Webhook,
)
from .qualification import DEFAULT_CRITERIA, check_criteria

MAX_TEXT = 500  # ids, labels, queues, campaigns, URLs: what people read, not documents
NAME = re.compile(r"^[a-z0-9_-]+$")
CELL = re.compile(r"^(\*|[A-D*][1-4*])$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LEAD_NAMESPACES = ("person", "company")
MAX_DAYS = 36_500  # 100 years: windows are walked day by day, and times must stay in range


class ConfigError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _Checker:
    """Collects problems; each check returns a usable value or None."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}" if path else message)

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...], required=()) -> dict | None:
        if not isinstance(value, Mapping):
            self.fail(path, f"must be a mapping, not {_kind(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.fail(_join(path, key), f"unknown key '{key}'")
        for key in required:
            if key not in value:
                self.fail(_join(path, key), "is required")
        return dict(value)

    def number(self, value: Any, path: str, *, positive=False) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(path, f"must be a number, not {_kind(value)}")
            return None
        number = float(value) if abs(value) < 1e300 else math.inf  # 10**400 is no float
        if not math.isfinite(number):
            self.fail(path, f"must be a finite number, not {str(value)[:20]}")
            return None
        if positive and value <= 0:
            self.fail(path, "must be greater than 0")
            return None
        return number

    def whole(
        self, value: Any, path: str, minimum: int = 1, maximum: int | None = None
    ) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"must be a whole number ≥ {minimum}, not {_kind(value)}")
            return None
        if value < minimum:
            self.fail(path, f"must be a whole number ≥ {minimum}")
            return None
        if maximum is not None and value > maximum:
            self.fail(path, f"must be at most {maximum:,}")
            return None
        return value

    def text(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"must be a non-empty string, not {_kind(value)}")
            return None
        if len(value) > MAX_TEXT:  # a label is copied into every grade's explanation
            self.fail(path, f"is {len(value):,} characters long: at most {MAX_TEXT:,}")
            return None
        return value

    def name(self, value: Any, path: str) -> str | None:
        text = self.text(value, path)
        if text is not None and not NAME.match(text):
            self.fail(path, f"'{text}' must match [a-z0-9_-]+")
            return None
        return text

    def items(self, value: Any, path: str, *, allow_empty=False) -> list:
        if not isinstance(value, list):
            self.fail(path, f"must be a list, not {_kind(value)}")
            return []
        if not value and not allow_empty:
            self.fail(path, "must not be empty")
        return value

    def unique(self, names: list[tuple[str | None, str]], what: str) -> None:
        seen: set[str] = set()
        for name, path in names:
            if name is None:
                continue
            if name in seen:
                self.fail(path, f"duplicate {what} '{name}'")
            seen.add(name)

    # conditions ----------------------------------------------------------------

    def condition(self, value: Any, path: str, namespaces: tuple[str, ...] | None) -> bool:
        """Check a condition; namespaces=None means event-property fields."""
        if not isinstance(value, Mapping):
            self.fail(path, f"a condition must be a mapping, not {_kind(value)}")
            return False
        ok = True
        combinators = [k for k in value if k in COMBINATORS]
        if combinators:
            if len(value) != 1:
                self.fail(path, f"'{combinators[0]}' must stand alone in its condition")
                return False
            key = combinators[0]
            if key == "not":
                return self.condition(value["not"], _join(path, "not"), namespaces)
            parts = self.items(value[key], _join(path, key))
            for i, part in enumerate(parts):
                ok = self.condition(part, f"{_join(path, key)}[{i}]", namespaces) and ok
            return ok and bool(parts)
        if "field" not in value:
            self.fail(path, "a condition needs 'field' and one operator, or all/any/not")
            return False
        ok = self.field(value["field"], _join(path, "field"), namespaces)
        operators = [k for k in value if k != "field"]
        for key in operators:
            if key not in OPERATORS:
                self.fail(path, f"unknown operator '{key}'")
                ok = False
        known = [k for k in operators if k in OPERATORS]
        if not operators:
            self.fail(path, "needs an operator (one of " + ", ".join(OPERATORS) + ")")
            return False
        if len(known) > 1:
            self.fail(path, "exactly one operator per condition, found " + ", ".join(known))
            return False
        if known:
            ok = self.operand(known[0], value[known[0]], _join(path, known[0])) and ok
        return ok

    def field(self, value: Any, path: str, namespaces: tuple[str, ...] | None) -> bool:
        if self.text(value, path) is None:
            return False
        if namespaces is None:
            if value.split(".", 1)[0] in LEAD_NAMESPACES:
                self.fail(
                    path, f"'{value}': event conditions use property keys (url, product, type)"
                )
                return False
            return True
        namespace, _, key = value.partition(".")
        if namespace not in namespaces or not key:
            self.fail(
                path,
                f"unknown namespace in '{value}': use "
                + " or ".join(f"{n}.KEY" for n in namespaces),
            )
            return False
        return True

    def operand(self, op: str, value: Any, path: str) -> bool:
        scalar = (str, int, float, bool)
        if op in ("equals", "not_equals"):
            if not isinstance(value, scalar):
                self.fail(path, f"must be a string, number or boolean, not {_kind(value)}")
                return False
        elif op in ("in", "not_in"):
            items = self.items(value, path)
            bad = [i for i, v in enumerate(items) if not isinstance(v, scalar)]
            for i in bad:
                self.fail(f"{path}[{i}]", "must be a string, number or boolean")
            return bool(items) and not bad
        elif op == "between":
            if not isinstance(value, list) or len(value) != 2:
                self.fail(path, "must be a list [low, high]")
                return False
            lo, hi = self.number(value[0], f"{path}[0]"), self.number(value[1], f"{path}[1]")
            if lo is None or hi is None:
                return False
            if lo > hi:
                self.fail(path, f"low {value[0]} is above high {value[1]}")
                return False
        elif op in NUMERIC_OPERATORS:
            return self.number(value, path) is not None
        elif op == "matches":
            if self.text(value, path) is None:
                return False
            try:
                compile_pattern(value)
            except PatternError as exc:
                self.fail(path, str(exc))
                return False
        elif op == "contains":
            return self.text(value, path) is not None
        elif op == "present":
            if not isinstance(value, bool):
                self.fail(path, f"must be true or false, not {_kind(value)}")
                return False
        return True

    # thresholds and routing ---------------------------------------------------

    def thresholds(self, value: Any, path: str, keys: tuple) -> tuple[float, float, float] | None:
        if not isinstance(value, Mapping):
            self.fail(path, f"must be a mapping of {', '.join(map(str, keys))}, not {_kind(value)}")
            return None
        by_key = {str(k): v for k, v in value.items()}
        wanted = [str(k) for k in keys]
        for key in by_key:
            if key not in wanted:
                self.fail(_join(path, key), f"unknown threshold '{key}' (use {', '.join(wanted)})")
        numbers = []
        for key in wanted:
            if key not in by_key:
                self.fail(_join(path, key), "is required")
                numbers.append(None)
            else:
                numbers.append(self.number(by_key[key], _join(path, key)))
        if None in numbers:
            return None
        if not (numbers[0] > numbers[1] > numbers[2]):
            self.fail(path, "thresholds must be strictly decreasing " + " > ".join(wanted))
            return None
        return (numbers[0], numbers[1], numbers[2])

    def routing(self, value: Any, path: str) -> tuple[RoutingEntry, ...]:
        entries = []
        for i, raw in enumerate(self.items(value, path)):
            where = f"{path}[{i}]"
            entry = self.mapping(
                raw, where, ("cells", "to", "queue", "campaign", "label"), ("cells", "to")
            )
            if entry is None:
                continue
            cells = []
            raw_cells = entry.get("cells")
            if isinstance(raw_cells, str):
                raw_cells = [raw_cells]
            for j, cell in enumerate(
                self.items(raw_cells, _join(where, "cells")) if "cells" in entry else []
            ):
                if not isinstance(cell, str) or not CELL.match(cell):
                    self.fail(
                        f"{where}.cells[{j}]", f"'{cell}' is not a cell pattern (A4, A*, *4, *)"
                    )
                else:
                    cells.append(cell)
            to = self.text(entry.get("to"), _join(where, "to")) if "to" in entry else None
            extra = {}
            for key in ("queue", "campaign", "label"):
                if key in entry:
                    extra[key] = self.text(entry[key], _join(where, key))
            if to and cells:
                route = Route(to=to, queue=extra.get("queue"), campaign=extra.get("campaign"))
                entries.append(RoutingEntry(cells=tuple(cells), route=route))
        return tuple(entries)


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


def _label(check: _Checker, rule: dict, path: str) -> str | None:
    return check.text(rule["label"], _join(path, "label")) if "label" in rule else None


def _fit_rules(check: _Checker, value: Any, path: str) -> tuple[FitRule, ...]:
    rules, ids = [], []
    for i, raw in enumerate(check.items(value, path, allow_empty=True)):
        where = f"{path}[{i}]"
        rule = check.mapping(
            raw, where, ("id", "label", "when", "points"), ("id", "when", "points")
        )
        if rule is None:
            continue
        rule_id = check.name(rule.get("id"), _join(where, "id")) if "id" in rule else None
        ids.append((rule_id, _join(where, "id")))
        points = check.number(rule["points"], _join(where, "points")) if "points" in rule else None
        label = _label(check, rule, where)
        ok = "when" in rule and check.condition(rule["when"], _join(where, "when"), LEAD_NAMESPACES)
        if ok and rule_id and points is not None:
            rules.append(
                FitRule(rule_id, points, rule["when"], compile_condition(rule["when"]), label)
            )
    check.unique(ids, "rule id")
    return tuple(rules)


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


def _activity_rule(check: _Checker, raw: Any, where: str) -> tuple[str | None, ActivityRule | None]:
    rule = check.mapping(raw, where, ACTIVITY_RULE_KEYS, ("id", "points"))
    if rule is None:
        return None, None
    rule_id = check.name(rule.get("id"), _join(where, "id")) if "id" in rule else None
    points = check.number(rule["points"], _join(where, "points")) if "points" in rule else None
    ok = rule_id is not None and points is not None
    event_types = None
    if "event" in rule:
        event = rule["event"]
        event = [event] if isinstance(event, str) else event
        types = check.items(event, _join(where, "event"))
        for j, t in enumerate(types):
            ok = check.text(t, f"{_join(where, 'event')}[{j}]") is not None and ok
        event_types = tuple(t for t in types if isinstance(t, str))
        ok = ok and bool(types)
    test = None
    if "where" in rule:
        if check.condition(rule["where"], _join(where, "where"), None):
            test = compile_condition(rule["where"])
        else:
            ok = False
    options = {}
    if "min_count" in rule:
        options["min_count"] = check.whole(rule["min_count"], _join(where, "min_count"))
        ok = ok and options["min_count"] is not None
    if "max_points" in rule:
        options["max_points"] = check.number(
            rule["max_points"], _join(where, "max_points"), positive=True
        )
        ok = ok and options["max_points"] is not None
    if "within_days" in rule:
        options["within_days"] = check.whole(
            rule["within_days"], _join(where, "within_days"), maximum=MAX_DAYS
        )
        ok = ok and options["within_days"] is not None
    label = _label(check, rule, where)
    if not ok:
        return rule_id, None
    return rule_id, ActivityRule(
        id=rule_id,
        points=points,
        event_types=event_types,
        where=rule.get("where"),
        test=test,
        label=label,
        **options,
    )


def _activity_block(check: _Checker, value: Any, path: str) -> ActivityBlock | None:
    block = check.mapping(
        value,
        path,
        ("window_days", "half_life_days", "rules", "thresholds"),
        ("rules", "thresholds"),
    )
    if block is None:
        return None
    window = DEFAULT_WINDOW_DAYS
    if "window_days" in block:
        window = check.whole(block["window_days"], _join(path, "window_days"), maximum=MAX_DAYS)
    half_life = None
    if "half_life_days" in block:
        half_life = check.number(
            block["half_life_days"], _join(path, "half_life_days"), positive=True
        )
    rules, ids = [], []
    rules_path = _join(path, "rules")
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
            block["thresholds"], _join(path, "thresholds"), ACTIVITY_NUMBERS
        )
    if thresholds is None or window is None or ("half_life_days" in block and half_life is None):
        return None
    return ActivityBlock(tuple(rules), thresholds, window, half_life)


def _categories(check: _Checker, value: Any, path: str) -> tuple[Category, ...]:
    categories, names = [], []
    for i, raw in enumerate(check.items(value, path, allow_empty=True)):
        where = f"{path}[{i}]"
        cat = check.mapping(
            raw, where, ("name", "label", "where", "activity", "routing"), ("name", "where")
        )
        if cat is None:
            continue
        name = check.name(cat.get("name"), _join(where, "name")) if "name" in cat else None
        names.append((name, _join(where, "name")))
        ok = "where" in cat and check.condition(cat["where"], _join(where, "where"), None)
        activity = None
        if "activity" in cat:
            activity = _activity_block(check, cat["activity"], _join(where, "activity"))
            ok = ok and activity is not None
        routing = check.routing(cat["routing"], _join(where, "routing")) if "routing" in cat else ()
        label = _label(check, cat, where)
        if ok and name:
            categories.append(
                Category(
                    name, cat["where"], compile_condition(cat["where"]), activity, routing, label
                )
            )
    check.unique(names, "category name")
    return tuple(categories)


def _accounts(check: _Checker, value: Any, path: str) -> Accounts | None:
    acc = check.mapping(
        value,
        path,
        ("activity", "fit_thresholds", "activity_thresholds"),
        ("fit_thresholds", "activity_thresholds"),
    )
    if acc is None:
        return None
    how = acc.get("activity", "sum")
    if how not in ("sum", "max"):
        check.fail(_join(path, "activity"), f"must be sum or max, not '{how}'")
        return None
    fit = (
        check.thresholds(acc.get("fit_thresholds"), _join(path, "fit_thresholds"), FIT_LETTERS)
        if "fit_thresholds" in acc
        else None
    )
    act = (
        check.thresholds(
            acc.get("activity_thresholds"), _join(path, "activity_thresholds"), ACTIVITY_NUMBERS
        )
        if "activity_thresholds" in acc
        else None
    )
    return Accounts(how, fit, act) if fit and act else None


MODEL_KEYS = ("name", "label", "audience", "fit", "activity", "categories", "routing", "accounts")


def _model(check: _Checker, raw: Any, path: str) -> Model | None:
    model = check.mapping(raw, path, MODEL_KEYS, ("name", "fit", "activity"))
    if model is None:
        return None
    name = check.name(model.get("name"), _join(path, "name")) if "name" in model else None
    audience_ok = True
    if "audience" in model:
        audience_ok = check.condition(model["audience"], _join(path, "audience"), LEAD_NAMESPACES)
    fit_rules, fit_thresholds = (), None
    if "fit" in model:
        fit = check.mapping(
            model["fit"], _join(path, "fit"), ("rules", "thresholds"), ("rules", "thresholds")
        )
        if fit is not None:
            if "rules" in fit:
                fit_rules = _fit_rules(check, fit["rules"], _join(path, "fit.rules"))
            if "thresholds" in fit:
                fit_thresholds = check.thresholds(
                    fit["thresholds"], _join(path, "fit.thresholds"), FIT_LETTERS
                )
    activity = (
        _activity_block(check, model["activity"], _join(path, "activity"))
        if "activity" in model
        else None
    )
    categories = (
        _categories(check, model["categories"], _join(path, "categories"))
        if "categories" in model
        else ()
    )
    routing = check.routing(model["routing"], _join(path, "routing")) if "routing" in model else ()
    accounts = (
        _accounts(check, model["accounts"], _join(path, "accounts"))
        if "accounts" in model
        else None
    )
    label = _label(check, model, path)
    if not (name and fit_thresholds and activity and audience_ok):
        return None
    audience = model.get("audience")
    return Model(
        name=name,
        fit_rules=fit_rules,
        fit_thresholds=fit_thresholds,
        activity=activity,
        categories=categories,
        routing=routing,
        audience=audience,
        audience_test=compile_condition(audience) if audience else None,
        accounts=accounts,
        label=label,
    )


def _cron(check: _Checker, value: Any, path: str) -> str | None:
    text = check.text(value, path)
    if text is None:
        return None
    try:
        from apscheduler.triggers.cron import CronTrigger

        CronTrigger.from_crontab(text, timezone="UTC")
    except ValueError as exc:
        check.fail(path, f"bad cron expression '{text}': {exc}")
        return None
    return text


def _url_problem(url: str) -> str | None:
    """Why a webhook URL cannot be delivered to, or None: http(s), a host, a port that is a
    port, no credentials (they are never sent), nothing a request line cannot hold."""
    if not re.match(r"^https?://", url, re.IGNORECASE) or any(
        ch.isspace() or not ch.isprintable() for ch in url
    ):
        return "must be an http:// or https:// address without spaces or control characters"
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # raises for a port that is no number or beyond 65535
    except ValueError as exc:
        return f"is not a valid address: {exc}"
    if not parts.hostname:
        return "names no host"
    if port == 0:
        return "port 0 is no port"
    if parts.username is not None or parts.password is not None:
        return (
            "carries a user name or password, which is never sent: put the receiver's token in "
            "the path or the query string"
        )
    return None


def _webhooks(check: _Checker, value: Any, model_names: set[str]) -> tuple[Webhook, ...]:
    hooks = []
    for i, raw in enumerate(check.items(value, "webhooks", allow_empty=True)):
        where = f"webhooks[{i}]"
        hook = check.mapping(raw, where, ("url", "events", "secret_env", "models"), ("url",))
        if hook is None:
            continue
        url = check.text(hook.get("url"), _join(where, "url")) if "url" in hook else None
        wrong = _url_problem(url) if url else None
        if wrong:
            # the URL itself is not repeated: problems are shown to every role, and a receiver's
            # URL may carry its token
            check.fail(_join(where, "url"), wrong)
            url = None
        events = WEBHOOK_EVENTS
        if "events" in hook:
            listed = check.items(hook["events"], _join(where, "events"))
            for j, event in enumerate(listed):
                if event not in WEBHOOK_EVENTS:
                    check.fail(
                        f"{where}.events[{j}]",
                        f"unknown event '{event}' (use {', '.join(WEBHOOK_EVENTS)})",
                    )
            events = tuple(e for e in listed if e in WEBHOOK_EVENTS)
        secret_env = None
        if "secret_env" in hook:
            secret_env = check.text(hook["secret_env"], _join(where, "secret_env"))
            if secret_env and not ENV_NAME.match(secret_env):
                check.fail(
                    _join(where, "secret_env"),
                    f"'{secret_env}' is not an environment variable name",
                )
        models = None
        if "models" in hook:
            models = tuple(check.items(hook["models"], _join(where, "models")))
            for j, name in enumerate(models):
                if not isinstance(name, str) or name not in model_names:
                    check.fail(f"{where}.models[{j}]", f"unknown model '{name}'")
        if url and any(hook.url == url for hook in hooks):
            check.fail(
                _join(where, "url"),
                "the same URL as an earlier webhook: list its events together instead",
            )
        elif url:
            hooks.append(Webhook(url, events, secret_env, models))
    return tuple(hooks)


def _retention(check: _Checker, value: Any, models: list[Model]) -> int | None:
    """`retention: {events_days: N}`: events older than N days are purged on the schedule. N may not
    be shorter than the longest activity window, or purging would change grades."""
    raw = check.mapping(value, "retention", ("events_days",), ("events_days",))
    if raw is None or "events_days" not in raw:
        return None
    days = check.whole(raw["events_days"], "retention.events_days", maximum=MAX_DAYS)
    if days is None:
        return None
    blocks = [
        (block, model.name)
        for model in models
        for block in (model.activity, *(c.activity for c in model.categories if c.activity))
    ]
    longest = max(blocks, key=lambda b: b[0].longest_window, default=None)
    if longest and days < longest[0].longest_window:
        check.fail(
            "retention.events_days",
            f"{days} days is shorter than the longest activity window "
            f"({longest[0].longest_window} days, model {longest[1]!r}): events that still count "
            "would be deleted",
        )
        return None
    return days


def load_config(data: Any) -> Config:
    """Validate a parsed model file; raise ConfigError listing every problem."""
    check = _Checker()
    if data is None:
        raise ConfigError(["the file is empty: it needs a 'models' list"])
    top = check.mapping(
        data, "", ("schedule", "models", "webhooks", "retention", "qualification"), ("models",)
    )
    if top is None:
        raise ConfigError(check.problems)
    schedule = None
    if "schedule" in top:
        sched = check.mapping(top["schedule"], "schedule", ("regrade",))
        if sched and "regrade" in sched:
            schedule = _cron(check, sched["regrade"], "schedule.regrade")
    models, names = [], []
    for i, raw in enumerate(check.items(top.get("models"), "models") if "models" in top else []):
        model = _model(check, raw, f"models[{i}]")
        name = raw.get("name") if isinstance(raw, Mapping) else None
        names.append((name if isinstance(name, str) else None, f"models[{i}].name"))
        if model is not None:
            models.append(model)
    check.unique(names, "model name")
    webhooks = ()
    if "webhooks" in top:
        webhooks = _webhooks(check, top["webhooks"], {n for n, _ in names if n})
    retention_days = _retention(check, top["retention"], models) if "retention" in top else None
    criteria = DEFAULT_CRITERIA
    if "qualification" in top:
        criteria = check_criteria(top["qualification"], check.fail) or DEFAULT_CRITERIA
    if check.problems:
        raise ConfigError(check.problems)
    return Config(
        models=tuple(models),
        schedule=schedule,
        webhooks=webhooks,
        retention_days=retention_days,
        qualification=criteria,
        source=data,
    )
