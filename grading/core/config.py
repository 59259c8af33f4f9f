"""The model file: a YAML-loaded dict -> ``Config``, with every problem listed by its path.

``load_config(data)`` never stops at the first problem: it walks the whole file, collects
``"models[0].fit.rules[3].when: unknown operator 'greater'"`` style messages and raises one
``ConfigError`` carrying all of them. The checks are in ``config_checks``; each model is read by
``config_models`` (its rules and conditions by ``config_rules``), the webhooks by
``config_webhooks``; the schedule, the retention and the qualification criteria here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config_checks import MAX_DAYS, Checker
from .config_models import read_model
from .config_webhooks import read_webhooks
from .model import Config, Model, Webhook
from .qualification import DEFAULT_CRITERIA, check_criteria

TOP_KEYS = ("schedule", "models", "webhooks", "retention", "qualification")


class ConfigError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _retention(check: Checker, value: Any, models: list[Model]) -> int | None:
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
    check = Checker()
    if data is None:
        raise ConfigError(["the file is empty: it needs a 'models' list"])
    top = check.mapping(data, "", TOP_KEYS, ("models",))
    if top is None:
        raise ConfigError(check.problems)
    schedule = None
    if "schedule" in top:
        sched = check.mapping(top["schedule"], "schedule", ("regrade",))
        if sched and "regrade" in sched:
            # a text here; whether it is a cron expression the scheduler can run is checked
            # with the scheduler itself (services/model_file/read.py: schedule_problems)
            schedule = check.text(sched["regrade"], "schedule.regrade")
    models: list[Model] = []
    names: list[tuple[str | None, str]] = []
    for i, raw in enumerate(check.items(top.get("models"), "models") if "models" in top else []):
        model = read_model(check, raw, f"models[{i}]")
        name = raw.get("name") if isinstance(raw, Mapping) else None
        names.append((name if isinstance(name, str) else None, f"models[{i}].name"))
        if model is not None:
            models.append(model)
    check.unique(names, "model name")
    hooks: tuple[Webhook, ...] = ()
    if "webhooks" in top:
        hooks = read_webhooks(check, top["webhooks"], {n for n, _ in names if n})
    retention_days = _retention(check, top["retention"], models) if "retention" in top else None
    criteria = DEFAULT_CRITERIA
    if "qualification" in top:
        criteria = check_criteria(top["qualification"], check.fail) or DEFAULT_CRITERIA
    if check.problems:
        raise ConfigError(check.problems)
    return Config(
        models=tuple(models),
        schedule=schedule,
        webhooks=hooks,
        retention_days=retention_days,
        qualification=criteria,
        source=data,
    )
