"""The README is the manual: every command, option and model-file key must be in it."""

import os
import re

from grading.cli import main
from grading.core.conditions import OPERATORS
from grading.core.config_models import MODEL_KEYS
from grading.core.config_rules import ACTIVITY_RULE_KEYS

README = open(
    os.path.join(os.path.dirname(__file__), "..", "..", "README.md"), encoding="utf-8"
).read()


def test_every_command_is_documented():
    for name in main.commands:
        assert f"grading {name}" in README, name


def test_every_option_of_every_command_is_documented():
    for name, command in main.commands.items():
        for param in command.params:
            for flag in param.opts:
                if flag.startswith("--"):
                    assert flag in README, f"{name} {flag}"


def test_every_model_key_and_operator_is_documented():
    for key in MODEL_KEYS:
        assert f"`models[].{key}" in README, key
    for key in ACTIVITY_RULE_KEYS:
        assert re.search(rf"`[^`]*\b{key}\b", README), key
    for op in OPERATORS:
        assert f"`{op}" in README, op
    for key in ("window_days", "half_life_days", "schedule.regrade", "categories[]", "routing[]"):
        assert key in README, key


def test_the_orientation_is_stated():
    assert "A is the best fit" in README and "4 is the most active" in README
    assert "Eloqua" in README


def test_every_api_endpoint_is_in_the_readme_with_its_roles():
    from grading.app import create_app

    app = create_app({"DATABASE": ":memory:"})
    every_role = {"admin", "marketing", "sales", "viewer"}
    table = README.split("| endpoint | roles | does |\n|---|---|---|\n")[1].split("\n\n")[0]
    rows = table.splitlines()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        # <lead:lead_id> is written ID, <company_id> COMPANY_ID
        path = re.sub(r"<(?:\w+:)?(?:lead_)?(\w+)>", lambda m: m.group(1).upper(), rule.rule)
        roles = getattr(app.view_functions[rule.endpoint], "roles", None)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            endpoint = f"`{method} {path}"
            (row,) = [r for r in rows if re.search(re.escape(endpoint) + r"[`? (]", r)]
            cells = row.split(" | ")
            named = re.findall(r"`(\w+) (/api/[^` ?(]*)", cells[0])
            written = cells[1].split(" / ")  # "all / admin": one per endpoint of the row
            text = written[named.index((method, path))] if len(written) > 1 else written[0]
            stated = (
                set() if text == "open" else every_role if text == "all" else set(text.split(", "))
            )
            assert stated == set(roles or ()), (method, path, text)
