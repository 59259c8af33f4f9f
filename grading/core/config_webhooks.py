"""Reading the model file's ``webhooks`` list: where grade and route changes are sent."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from .config_checks import Checker, join
from .model import WEBHOOK_EVENTS, Webhook

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def url_problem(url: str) -> str | None:
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


def read_webhooks(check: Checker, value: Any, model_names: set[str]) -> tuple[Webhook, ...]:
    hooks: list[Webhook] = []
    for i, raw in enumerate(check.items(value, "webhooks", allow_empty=True)):
        where = f"webhooks[{i}]"
        hook = check.mapping(raw, where, ("url", "events", "secret_env", "models"), ("url",))
        if hook is None:
            continue
        url = check.text(hook.get("url"), join(where, "url")) if "url" in hook else None
        wrong = url_problem(url) if url else None
        if wrong:
            # the URL itself is not repeated: problems are shown to every role, and a receiver's
            # URL may carry its token
            check.fail(join(where, "url"), wrong)
            url = None
        events = WEBHOOK_EVENTS
        if "events" in hook:
            listed = check.items(hook["events"], join(where, "events"))
            for j, event in enumerate(listed):
                if event not in WEBHOOK_EVENTS:
                    check.fail(
                        f"{where}.events[{j}]",
                        f"unknown event '{event}' (use {', '.join(WEBHOOK_EVENTS)})",
                    )
            events = tuple(e for e in listed if e in WEBHOOK_EVENTS)
        secret_env = None
        if "secret_env" in hook:
            secret_env = check.text(hook["secret_env"], join(where, "secret_env"))
            if secret_env and not ENV_NAME.match(secret_env):
                check.fail(
                    join(where, "secret_env"),
                    f"'{secret_env}' is not an environment variable name",
                )
        models = None
        if "models" in hook:
            models = tuple(check.items(hook["models"], join(where, "models")))
            for j, name in enumerate(models):
                if not isinstance(name, str) or name not in model_names:
                    check.fail(f"{where}.models[{j}]", f"unknown model '{name}'")
        if url and any(earlier.url == url for earlier in hooks):
            check.fail(
                join(where, "url"),
                "the same URL as an earlier webhook: list its events together instead",
            )
        elif url:
            hooks.append(Webhook(url, events, secret_env, models))
    return tuple(hooks)
