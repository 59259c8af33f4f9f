"""Reading the model file: YAML 1.2 (NO is Norway), duplicate keys refused by path and line, what
aliases may expand to bounded before anything expands, and every problem named by its line —
the same wherever a model file is read (check-config, start and reload, the preview API)."""

from __future__ import annotations

import os
import re
import time

import pytest
import yaml

from grading.core.config import ConfigError
from grading.services.model_file.active import ModelState
from grading.services.model_file.read import MAX_DEPTH, MAX_NODES, parse_config, read_config
from tests.conftest import REPO

SHIPPED = os.path.join(REPO, "config", "grading.yaml")
MINIMAL = """\
models:
  - name: p
    fit:
      rules:
        - id: big
          when: {field: company.employees, gte: 200}
          points: 10
      thresholds: {A: 30, B: 20, C: 10}
    activity: {rules: [], thresholds: {4: 3, 3: 2, 2: 1}}
"""


def alias_bomb(levels: int = 7) -> str:
    """The issue's attack: one fit rule whose aliases nest `levels` deep, ten to a level, so the
    condition expands to 10**levels leaves; the text stays under 450 characters."""

    def level(k: int) -> str:
        if k == 0:
            return "&a0 {field: person.t, equals: 1}"
        return f"&a{k} {{any: [{level(k - 1)}" + f", *a{k - 1}" * 9 + "]}"

    return MINIMAL.replace("{field: company.employees, gte: 200}", level(levels))


def problems_of(text: str | bytes) -> list[str]:
    with pytest.raises(ConfigError) as refused:
        parse_config(text.encode() if isinstance(text, str) else text)
    return refused.value.problems


# YAML 1.2 --------------------------------------------------------------------------------------


def test_the_shipped_file_keeps_norway_in_the_target_market():
    config = read_config(SHIPPED).config
    markets = [
        rule.when["in"]
        for rule in config.models[0].fit_rules
        if rule.when.get("field") == "company.country"
    ]
    assert markets and "NO" in markets[0] and False not in markets[0]
    lead = {"company.country": "no"}  # compared case-insensitively, as every text is
    rule = next(r for r in config.models[0].fit_rules if r.when.get("field") == "company.country")
    assert rule.test(lead) is True


def test_only_true_and_false_are_booleans():
    text = MINIMAL.replace(
        "{field: company.employees, gte: 200}",
        "{field: company.country, in: [NO, no, yes, on, off, Y, n, DE]}",
    )
    config = parse_config(text.encode())
    assert config.models[0].fit_rules[0].when["in"] == [
        "NO", "no", "yes", "on", "off", "Y", "n", "DE"
    ]  # fmt: skip
    flag = MINIMAL.replace("gte: 200}", "gte: 200}\n          label: true")
    assert problems_of(flag) == [
        "line 7: models[0].fit.rules[0].label: must be a non-empty string, not a boolean"
    ]


def test_a_yaml_1_1_directive_is_refused_rather_than_bringing_back_no_as_false():
    problems = problems_of("%YAML 1.1\n---\n" + MINIMAL)
    assert problems == [
        "line 1: %YAML 1.1: the model file is read as YAML 1.2 (only true and false are "
        "booleans); remove the directive"
    ]
    parse_config(("%YAML 1.2\n---\n" + MINIMAL).encode())


# duplicate keys ---------------------------------------------------------------------------------


def test_a_duplicate_key_is_refused_naming_its_path_and_line():
    text = MINIMAL.replace("points: 10", "points: 10\n          points: 1000")
    assert problems_of(text) == [
        "line 8: models[0].fit.rules[0].points: duplicate key 'points' (first on line 7); "
        "give each key once"
    ]


def test_every_duplicate_key_is_listed_in_block_and_flow_mappings_alike():
    text = (
        MINIMAL.replace("{A: 30, B: 20, C: 10}", "{A: 30, B: 20, A: 10}").replace(
            "  - name: p", "  - name: p\n    name: q"
        )
        + "models: []\n"
    )
    problems = problems_of(text)
    assert [p.split(": duplicate")[0] for p in problems] == [
        "line 11: models",
        "line 3: models[0].name",
        "line 9: models[0].fit.thresholds.A",
    ]


def test_a_key_merged_in_and_then_overridden_is_no_duplicate():
    text = MINIMAL.replace(
        "thresholds: {A: 30, B: 20, C: 10}",
        "thresholds: {<<: {A: 30, B: 20, C: 5}, C: 10}",
    )
    assert parse_config(text.encode()).models[0].fit_thresholds == (30, 20, 10)


# aliases ----------------------------------------------------------------------------------------


def test_the_alias_bomb_is_refused_at_once_with_a_clear_problem():
    bomb = alias_bomb()
    assert len(bomb) - len(MINIMAL) < 450
    started = time.process_time()
    problems = problems_of(bomb)
    assert time.process_time() - started < 1.0  # minutes and gigabytes when it expanded
    assert len(problems) == 1
    assert re.fullmatch(
        r"line 6: models\[0\]\.fit\.rules\[0\]\.when(\.any(\[0\])?)*: expands to [\d,]+ nodes or "
        rf"more through aliases \(at most {MAX_NODES:,} in a model file\)",
        problems[0],
    ), problems


def test_aliases_that_expand_moderately_are_fine():
    config = parse_config(alias_bomb(levels=2).encode())  # 100 leaves
    assert config.models[0].fit_rules[0].test({"person.t": "1"}) is True


def test_depth_through_aliases_is_bounded_too():
    chain = ["&d0 {field: person.t, equals: 1}"]
    for k in range(1, 70):  # each {not: *alias} is one level more
        chain.append(f"&d{k} {{not: *d{k - 1}}}")
    text = MINIMAL.replace(
        "      rules:\n",
        "      rules:\n" + "".join(f"        - {{id: x{k}, when: {c}, points: 1}}\n"
                                  for k, c in enumerate(chain)),
    )  # fmt: skip
    problems = problems_of(text)
    assert len(problems) == 1
    assert f"nested deeper than {MAX_DEPTH} levels (aliases included)" in problems[0]


def test_an_alias_to_a_node_that_contains_it_is_refused():
    assert problems_of("models: &m [*m]\n") == [
        "line 1: models[0]: an alias refers to a node that contains it"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "%YAML 1.3\n---\nmodels: []\n",  # ruamel.yaml: AssertionError
        "models: !!omap [x: 1, x: 2]\n",  # KeyError
        "models: !!bool x\n",
        "models: !!set {a, b}\n",
        "models: !!binary '!!'\n",
    ],
)
def test_whatever_the_yaml_reader_trips_over_is_a_problem_never_a_crash(text):
    assert problems_of(text)  # was an AssertionError or KeyError: a traceback, a 500 in the API


def test_a_long_text_repeated_through_aliases_weighs_what_it_expands_to():
    big = "x" * 20_000
    text = MINIMAL.replace(
        "{field: company.employees, gte: 200}",
        f"{{field: person.t, in: [&big {big}" + ", *big" * 600 + "]}",
    )
    assert "expands to" in problems_of(text)[0]  # 12 MB of model from a 24 KB file
    parse_config(text.replace(", *big" * 600, ", *big" * 10).encode())  # 200 KB of it is fine


def test_a_label_is_text_people_read_not_a_document():
    text = MINIMAL.replace("points: 10", "points: 10\n          label: " + "L" * 501)
    assert any("fit.rules[0].label: is 501 characters long" in p for p in problems_of(text))
    parse_config(
        MINIMAL.replace("points: 10", "points: 10\n          label: " + "L" * 500).encode()
    )


@pytest.mark.parametrize(
    "pattern,why",
    [
        ("\\\\pL{400}x", "too large"),  # ~4 MiB and 0.2 s to compile each: refused at once
        ("(\\\\pL|\\\\pN){400}[^x]{400}x", "too large"),
        ("a" * 1001, "1,001 characters long"),
    ],
)
def test_a_pattern_that_would_cost_memory_or_compile_time_is_refused(pattern, why):
    text = MINIMAL.replace(
        "{field: company.employees, gte: 200}", f'{{field: person.title, matches: "{pattern}"}}'
    )
    assert any(why in p for p in problems_of(text)), problems_of(text)


def test_check_config_and_reload_refuse_the_bomb_and_keep_the_last_good_file(cli, write):
    path = write("bomb.yaml", alias_bomb())
    result = cli("check-config", path)
    assert result.exit_code == 1 and "nodes or more through aliases" in result.stderr
    good = write("model.yaml", MINIMAL)
    state = ModelState(good)
    with open(good, "w") as handle:
        handle.write(alias_bomb())
    outcome = state.reload()
    assert not outcome.changed and "nodes or more through aliases" in outcome.problems[0]
    assert state.config.models[0].name == "p"


def test_the_preview_api_refuses_the_bomb_at_once(app, tokens):
    started = time.perf_counter()
    response = app.test_client().post(
        "/api/models/preview",
        data=alias_bomb(),
        content_type="text/yaml",
        headers=tokens["marketing"],
    )
    assert response.status_code == 422
    assert time.perf_counter() - started < 5.0
    (problem,) = response.json["problems"]
    assert problem["field"].startswith("models[0].fit.rules[0].when") and problem["line"] == 6
    assert problem["message"].startswith("expands to ")


def test_a_file_over_the_byte_bound_is_refused_before_it_is_parsed():
    assert problems_of(b"# " + b"x" * 1_000_000) == [
        "the model file is 1,000,002 bytes: at most 1,000,000"
    ]


# lines ------------------------------------------------------------------------------------------


def test_every_problem_names_its_line_in_the_shipped_file():
    lines = open(SHIPPED, encoding="utf-8").read().splitlines()
    at = next(i for i, line in enumerate(lines) if "matches:" in line and "when" in line)
    lines[at] = lines[at].replace("matches:", "matches_not:")
    unknown = next(i for i, line in enumerate(lines) if line.strip().startswith("window_days"))
    lines[unknown] = lines[unknown].replace("window_days", "window_day")
    problems = problems_of("\n".join(lines) + "\n")
    assert len(problems) == 2
    for problem in problems:
        line, path = re.match(r"line (\d+): ([^:]+):", problem).groups()
        assert path.rsplit(".", 1)[-1].split("[")[0] in lines[int(line) - 1], problem
    assert problems[0].startswith(f"line {at + 1}: models[0].fit.rules[")
    assert problems[1].startswith(f"line {unknown + 1}: models[0].activity.window_day: unknown")


def test_a_missing_key_names_the_line_of_the_mapping_that_lacks_it():
    text = MINIMAL.replace("    activity: {rules: [], thresholds: {4: 3, 3: 2, 2: 1}}\n", "")
    assert problems_of(text) == ["line 2: models[0].activity: is required"]


def test_problems_read_the_same_through_the_api_and_check_config(app, tokens, cli, write):
    text = yaml.safe_dump({"models": [{"name": "Bad Name"}]}, sort_keys=False)
    checked = cli("check-config", write("bad.yaml", text))
    response = app.test_client().post(
        "/api/models/preview", data=text, content_type="text/yaml", headers=tokens["admin"]
    )
    api = [f"{p['line']}: {p['field']}: {p['message']}" for p in response.json["problems"]]
    # check-config prints FILE:LINE: path: reason
    assert [line.split(":", 1)[1] for line in checked.stderr.splitlines()[:-1]] == api


# webhooks: secret_env ---------------------------------------------------------------------------

HOOKED = MINIMAL + (
    "webhooks:\n"
    "  - url: https://hooks.example.com/services/T0/B0/XYZ?key=receiver-token\n"
    "    secret_env: GRADING_TEST_HOOK_SECRET\n"
)


def test_an_unset_secret_env_is_a_problem_of_the_model_file(cli, write, monkeypatch):
    monkeypatch.delenv("GRADING_TEST_HOOK_SECRET", raising=False)
    path = write("hooked.yaml", HOOKED)
    expected = (
        "line 12: webhooks[0].secret_env: the environment variable GRADING_TEST_HOOK_SECRET is "
        "not set (or is empty or blank): its messages would go unsigned; set it, or remove "
        "secret_env"
    )
    assert problems_of(HOOKED) == [expected]
    checked = cli("check-config", path)
    printed = f"{path}:12: " + expected.removeprefix("line 12: ")  # FILE:LINE:, as imports write
    assert checked.exit_code == 1 and printed in checked.stderr
    monkeypatch.setenv("GRADING_TEST_HOOK_SECRET", "")
    assert problems_of(HOOKED) == [expected]  # empty signs nothing either
    monkeypatch.setenv("GRADING_TEST_HOOK_SECRET", "  ")
    assert problems_of(HOOKED) == [expected]  # nor does a blank one (it passed before)
    monkeypatch.setenv("GRADING_TEST_HOOK_SECRET", "s3cret")
    assert cli("check-config", path).exit_code == 0


def test_reload_refuses_a_file_whose_secret_env_is_unset_and_keeps_the_last_good_one(
    write, monkeypatch
):
    monkeypatch.setenv("GRADING_TEST_HOOK_SECRET", "s3cret")
    path = write("hooked.yaml", HOOKED)
    state = ModelState(path)
    assert state.config.webhooks[0].secret_env == "GRADING_TEST_HOOK_SECRET"
    monkeypatch.delenv("GRADING_TEST_HOOK_SECRET")
    with open(path, "a") as handle:
        handle.write("retention: {events_days: 400}\n")
    outcome = state.reload()
    assert not outcome.changed and "webhooks[0].secret_env" in outcome.problems[0]
    assert state.config.retention_days is None  # still the last good file
    with pytest.raises(ConfigError):
        ModelState(path)  # and a server does not start on it


def test_webhook_urls_are_shown_whole_to_admins_only(tmp_path, monkeypatch):
    from grading.app import create_app
    from grading.services import webhooks
    from grading.store.auth import create_token
    from grading.store.db import connect, transaction

    monkeypatch.setenv("GRADING_TEST_HOOK_SECRET", "s3cret")
    model = tmp_path / "hooked.yaml"
    model.write_text(HOOKED)
    app = create_app(
        {"DATABASE": str(tmp_path / "api.db"), "MODEL_FILE": str(model), "TESTING": True}
    )
    db = connect(app.config["DATABASE"])
    headers = {}
    for role in ("admin", "marketing", "sales", "viewer"):
        _, secret = create_token(db, role, role, "2026-11-01T00:00:00Z")
        headers[role] = {"Authorization": f"Bearer {secret}"}
    config = app.extensions["grading"].config
    with transaction(db):
        db.execute(
            "INSERT INTO leads (ext_id, attrs, lifecycle, created_at, updated_at)"
            " VALUES ('L-1', '{}', 'lead', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z')"
        )
        row = (1, "p", None, "B1", "A1", None, None, "2026-11-01T00:00:00Z", "regrade")
        webhooks.enqueue(db, config, [row])
    db.conn.close()
    client = app.test_client()
    url = config.webhooks[0].url
    seen = {
        role: [
            h["url"] for h in client.get("/api/webhooks", headers=headers[role]).json["webhooks"]
        ]
        for role in headers
    }
    assert seen["admin"] == [url]
    for role in ("marketing", "sales", "viewer"):
        assert seen[role] == ["https://hooks.example.com/…"], role
    document = client.get("/api/openapi.json", headers=headers["viewer"]).json
    described = document["components"]["schemas"]["WebhookStatus"]["properties"]["url"]
    assert "admins" in described["description"]


@pytest.mark.parametrize("cron", ["61 * * * *", "0 25 * * *", "* * *", "every hour", "0 * * * * *"])
def test_a_bad_cron_is_refused_with_every_other_problem(cron):
    data = yaml.safe_load(open(os.path.join(REPO, "config", "grading.yaml"), encoding="utf-8"))
    data["schedule"]["regrade"] = cron
    data["models"][0]["colour"] = "blue"
    with pytest.raises(ConfigError) as refused:
        parse_config(yaml.safe_dump(data).encode())
    problems = refused.value.problems
    assert len(problems) == 2, problems
    assert re.match(r"line \d+: schedule\.regrade: bad cron expression ", problems[0])
    assert "models[0].colour" in problems[1]


@pytest.mark.parametrize("cron", ["0 * * * *", "*/15 9-17 * * mon-fri", "30 2 * * *"])
def test_a_good_cron_is_kept(cron):
    data = yaml.safe_load(open(os.path.join(REPO, "config", "grading.yaml"), encoding="utf-8"))
    data["schedule"]["regrade"] = cron
    assert parse_config(yaml.safe_dump(data).encode()).schedule == cron


def test_a_schedule_the_scheduler_cannot_run_is_refused_naming_its_line():
    text = open(os.path.join(REPO, "config", "grading.yaml"), encoding="utf-8").read()
    bad = re.sub(r"regrade: .*", 'regrade: "every hour"', text, count=1)
    with pytest.raises(ConfigError) as refused:
        parse_config(bad.encode())
    line = bad[: bad.index("every hour")].count("\n") + 1
    assert refused.value.problems[0] == (
        f"line {line}: schedule.regrade: bad cron expression 'every hour':"
        " Wrong number of fields; got 2, expected 5"
    )
