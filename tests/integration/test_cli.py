"""The command line, as a user runs it."""

import orjson
import pytest

from grading.cli import main
from grading.store.migrations import MIGRATIONS

LEADS = (
    '{"id": "L-1", "person": {"title": "CEO", "phone": "1"}, "company": {"domain": "acme.io",'
    ' "industry": "software", "employees": 500}}\n'
    '{"id": "L-2", "person": {"title": "Student"}, "company": {"name": "Uni"}}\n'
)
EVENTS = (
    '{"id": "E-1", "lead": "L-1", "type": "download", "at": "2026-11-20T10:00:00Z", "properties": {"product": "analytics"}}\n'
    '{"id": "E-2", "lead": "L-1", "type": "page_view", "at": "2026-11-21T10:00:00Z", "properties": {"url": "/pricing"}}\n'
)


def test_init_creates_the_database(cli):
    result = cli("init")
    assert result.exit_code == 0 and f"schema version {len(MIGRATIONS)}" in result.output


def test_check_config_accepts_a_valid_file(cli, config_file):
    result = cli("check-config", config_file)
    assert result.exit_code == 0 and "is valid" in result.output


def test_check_config_lists_every_problem_and_exits_1(cli, write):
    path = write(
        "bad.yaml",
        "models:\n  - name: x\n    fit: {rules: [{id: a, when: {field: company.size, greater: 3}, points: 1}],"
        " thresholds: {A: 1, B: 2, C: 3}}\n    activity: {rules: [], thresholds: {4: 3, 3: 2, 2: 1}}\n",
    )
    result = cli("check-config", path)
    assert result.exit_code == 1
    assert f"{path}:3: models[0].fit.rules[0].when: unknown operator 'greater'" in result.stderr
    assert (
        f"{path}:3: models[0].fit.thresholds: thresholds must be strictly decreasing A > B > C"
        in result.stderr
    )


def test_check_config_reports_yaml_syntax_errors_by_line(cli, write):
    path = write("broken.yaml", "models:\n  - name: [x\n")
    result = cli("check-config", path)
    assert result.exit_code == 1 and f"{path}:3: " in result.stderr  # FILE:LINE:


def test_the_example_model_file_is_valid():
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["check-config", "config/grading.yaml"])
    assert result.exit_code == 0, result.output


def test_without_config_the_local_model_file_else_the_shipped_example(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from grading.resources import SHIPPED_MODEL_FILE

    monkeypatch.delenv("GRADING_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no config/ here
    result = CliRunner().invoke(main, ["check-config"])
    assert result.exit_code == 0 and f"{SHIPPED_MODEL_FILE} is valid" in result.output
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "grading.yaml").write_text("models: []\n")
    result = CliRunner().invoke(main, ["check-config"])
    assert result.exit_code == 1 and "config/grading.yaml" in result.stderr


def test_import_regrade_export_and_explain(cli, write):
    assert cli("import", "leads", write("l.jsonl", LEADS)).exit_code == 0
    result = cli("import", "events", write("e.jsonl", EVENTS + EVENTS))
    assert result.exit_code == 0
    assert "imported 2 events" in result.output and "2 duplicate(s) ignored" in result.output
    assert "re-graded 1 lead(s)" in result.output
    result = cli("regrade", "--as-of", "2026-11-21T12:00:00Z")
    assert result.exit_code == 0 and "graded 2 lead(s)" in result.output
    again = cli("regrade", "--as-of", "2026-11-21T12:00:00Z")
    assert "0 grade row(s) written" in again.output

    rows = [orjson.loads(line) for line in cli("grades").stdout.splitlines()]
    assert {(r["lead"], r["category"]) for r in rows} == {
        ("L-1", None),
        ("L-1", "analytics"),
        ("L-2", None),
        ("L-2", "analytics"),
    }
    main_grade = next(r for r in rows if r["lead"] == "L-1" and r["category"] is None)
    assert set(main_grade) >= {
        "lead",
        "model",
        "category",
        "fit_score",
        "fit",
        "activity_score",
        "activity",
        "grade",
        "route",
        "explanation",
    }
    assert (
        main_grade["route"] == {"to": "sales", "queue": "senior"} or main_grade["grade"][1] in "12"
    )
    assert {e["rule"] for e in main_grade["explanation"]} >= {"ceo", "downloads", "pricing-recent"}

    csv_out = cli(
        "grades", "--format", "csv", "--model", "prospects", "--category", "-", "--cell", "D1"
    )
    lines = csv_out.stdout.strip().splitlines()
    assert lines[0].startswith(
        "lead,model,category,fit_score,fit,activity_score,activity,grade,route"
    )
    assert len(lines) == 2 and lines[1].startswith("L-2,prospects,,")

    explain = cli("explain", "L-1")
    assert explain.exit_code == 0
    assert (
        "prospects:" in explain.output and "ceo" in explain.output and "History" in explain.output
    )


def test_explain_heads_with_the_name_shows_progress_apart_and_the_latest_events(cli, write):
    from datetime import UTC, datetime, timedelta

    lead = {
        "id": "L-7",
        "person": {
            "first_name": "Ana",
            "last_name": "Lima",
            "email": "ana@acme.io",
            "title": "CEO",
        },
        "company": {"name": "Acme", "industry": "software", "employees": 500},
    }
    yesterday = datetime.now(UTC) - timedelta(days=1)
    visits = [
        {
            "id": f"V-{i}",
            "lead": "L-7",
            "type": "page_view",
            "at": (yesterday - timedelta(minutes=i)).isoformat(),
            "properties": {"url": f"/blog/{i}"},
        }
        for i in range(3)
    ]
    cli("import", "leads", write("l.jsonl", orjson.dumps(lead).decode() + "\n"))
    events = "".join(orjson.dumps(v).decode() + "\n" for v in visits)
    cli("import", "events", write("e.jsonl", events))
    out = cli("explain", "L-7").output
    first, second = out.splitlines()[:2]
    assert first == "Ana Lima  (L-7)" and "CEO" in second and "ana@acme.io" in second
    assert "+0.00" not in out  # "3 page views toward 6" earned nothing: it is not a contribution
    assert "not yet earned" in out and "3 of 6  many-visits" in out
    assert "Events (3, newest first)" in out and "page_view  url: /blog/0" in out
    assert out.index("page_view  url: /blog/0") < out.index("page_view  url: /blog/2")
    capped = cli("explain", "L-7", "--events", "1").output
    assert "Events (the latest 1 of 3, newest first)" in capped and "/blog/1" not in capped
    assert "3 events (none shown)" in cli("explain", "L-7", "--events", "0").output
    one = {"id": "D-1", "lead": "L-7", "type": "download", "at": yesterday.isoformat()}
    cli("import", "events", write("d.jsonl", orjson.dumps(one).decode() + "\n"))
    assert "(1 event)" in cli("explain", "L-7").output  # one event is no "1 events"
    as_json = orjson.loads(cli("explain", "L-7", "--json").output)
    (main,) = [g for g in as_json["grades"] if g["category"] is None]
    assert main["progress"] == [
        {
            "rule": "many-visits",
            "label": None,
            "dimension": "activity",
            "min_count": 6,
            "events": 3,
        }
    ]
    assert "many-visits" not in {e["rule"] for e in main["explanation"]}
    assert as_json["name"] == "Ana Lima" and as_json["events"][0]["at"].endswith("Z")
    assert "--events" in cli("explain", "--help").output


def test_export_to_a_file(cli, write, tmp_path):
    cli("import", "leads", write("l.jsonl", LEADS))
    out = tmp_path / "grades.csv"
    result = cli("grades", "--format", "csv", "-o", str(out))
    assert result.exit_code == 0 and len(out.read_text().splitlines()) == 5


def test_import_with_bad_rows_exits_non_zero_and_names_each_line(cli, write):
    path = write("l.jsonl", LEADS + '{"id": "L-3", "person": {"lifecycle": "nope"}}\n')
    result = cli("import", "leads", path)
    assert result.exit_code == 1
    assert f"{path}:3: person.lifecycle: must be one of" in result.stderr
    assert "nothing was imported" in result.stderr
    assert "no lead with id" in cli("explain", "L-1").stderr


def test_unknown_model_and_bad_cells_are_refused(cli):
    assert cli("regrade", "--model", "nope").exit_code == 2
    assert cli("grades", "--cell", "E9").exit_code == 2
    assert cli("regrade", "--as-of", "yesterday").exit_code == 2


def test_regrade_after_a_model_file_change_says_model_change(cli, write, model_dict, tmp_path):
    import yaml

    cli("import", "leads", write("l.jsonl", LEADS))
    cli("regrade")
    model_dict["models"][0]["fit"]["thresholds"]["A"] = 200
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(model_dict))
    result = cli("regrade", config=str(changed))
    assert "(model-change)" in result.output and "2 grade(s) changed" in result.output


def test_environment_variables_pick_database_and_model_file(tmp_path, config_file, monkeypatch):
    from click.testing import CliRunner

    monkeypatch.setenv("GRADING_DB", str(tmp_path / "env.db"))
    monkeypatch.setenv("GRADING_CONFIG", config_file)
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 0 and (tmp_path / "env.db").exists()


@pytest.mark.slow
def test_demo_fills_an_empty_database_only(cli):
    result = cli("demo", "--leads", "60", config="config/grading.yaml")
    assert result.exit_code == 0, result.output
    assert "demo: 60 leads" in result.output
    again = cli("demo", "--leads", "60", config="config/grading.yaml")
    assert again.exit_code == 1 and "empty database" in again.output
    matrix = cli("matrix", config="config/grading.yaml")
    assert "total" in matrix.output and matrix.output.count("\n") >= 6


def runs_of(db_path):
    from grading.store.db import connect
    from grading.store.runs import list_runs

    db = connect(db_path)
    try:
        return list_runs(db)
    finally:
        db.conn.close()


def test_the_demo_grading_is_a_run_the_models_page_lists(cli, tmp_path):
    """`make run` fills the database with `grading demo`: its grading of everyone is a run."""
    assert cli("demo", "--leads", "40", config="config/grading.yaml").exit_code == 0
    (run,) = runs_of(cli.db_path)
    assert (run["trigger"], run["reason"], run["leads"], run["error"]) == (
        "demo",
        "regrade",
        40,
        None,
    )
    assert run["finished_at"] and run["rows_written"] > 0
    # the model file it graded with is the graded one: the first re-grade is no "model-change"
    assert "(regrade)" in cli("regrade", config="config/grading.yaml").output

    from grading.app import create_app
    from grading.store.db import connect
    from grading.store.users import create_user
    from tests.integration.test_web import login

    db = connect(cli.db_path)
    create_user(db, "kim", "viewer", "correct horse", "2026-11-01T00:00:00Z")
    db.conn.close()
    settings = {"DATABASE": cli.db_path, "MODEL_FILE": "config/grading.yaml", "TESTING": True}
    client = create_app(settings).test_client()
    login(client, "kim")
    page = client.get("/models").get_data(as_text=True)
    assert "No runs yet" not in page and "<td>demo</td>" in page


def test_an_import_that_grades_its_leads_is_a_run_too(cli, write):
    cli("import", "leads", write("l.jsonl", LEADS))
    cli("import", "events", write("e.jsonl", EVENTS))
    events_run, leads_run = runs_of(cli.db_path)
    assert (leads_run["trigger"], leads_run["reason"], leads_run["leads"]) == (
        "import",
        "lead-update",
        2,
    )
    assert (events_run["trigger"], events_run["reason"], events_run["leads"]) == (
        "import",
        "event",
        1,
    )
    assert cli("import", "leads", write("l.jsonl", LEADS), "--no-regrade").exit_code == 0
    assert len(runs_of(cli.db_path)) == 2  # nothing graded, no run


def test_a_backup_taken_while_writing_restores_the_same_grades(cli, write, tmp_path):
    import sqlite3

    cli("import", "leads", write("l.jsonl", LEADS))
    cli("import", "events", write("e.jsonl", EVENTS))
    target = tmp_path / "copy.db"
    result = cli("backup", str(target))
    assert result.exit_code == 0 and "backed up" in result.output
    assert cli("backup", str(target)).exit_code == 1  # never overwrites
    original = (
        sqlite3.connect(cli.db_path).execute("SELECT * FROM grades ORDER BY 1, 2, 3").fetchall()
    )
    restored = (
        sqlite3.connect(str(target)).execute("SELECT * FROM grades ORDER BY 1, 2, 3").fetchall()
    )
    assert original and restored == original


def test_an_import_grades_with_the_model_file_as_it_is_when_the_import_ends(
    cli, write, config_file, model_dict, monkeypatch
):
    """A server may re-grade everyone with a changed model file while a long import runs; the
    import's re-grade must not then write grades of the file it started with."""
    import copy

    import yaml

    from grading.services import ingest

    lead = {
        "id": "L-1",
        "person": {"title": "CEO", "phone": "1"},
        "company": {"industry": "software", "employees": 500},
    }
    leads = write("leads.jsonl", orjson.dumps(lead).decode() + "\n")
    stricter = copy.deepcopy(model_dict)
    stricter["models"][0]["fit"]["thresholds"] = {"A": 95, "B": 45, "C": 20}  # 85 points: B now
    real_import = ingest.import_file

    def import_then_change_the_file(*args, **kwargs):
        result = real_import(*args, **kwargs)
        with open(config_file, "w") as handle:
            yaml.safe_dump(stricter, handle)
        return result

    monkeypatch.setattr(ingest, "import_file", import_then_change_the_file)
    assert cli("import", "leads", leads).exit_code == 0
    graded = cli("grades", "--model", "prospects", "--category", "-")
    (row,) = [orjson.loads(line) for line in graded.output.splitlines()]
    assert row["fit"] == "B"
