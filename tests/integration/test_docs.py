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
