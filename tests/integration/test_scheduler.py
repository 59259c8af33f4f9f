"""The scheduler of `grading serve`: the cron job, the model-file watch, and the lease."""

import time

import yaml

from grading.scheduler import Scheduler, regrade_job
from grading.store import runs as run_store
from grading.store.db import connect


def lead(client, tokens):
    body = {
        "id": "L-1",
        "person": {"title": "CEO"},
        "company": {"industry": "software", "employees": 500},
    }
    assert client.post("/api/leads", json=body, headers=tokens["admin"]).status_code == 200


def test_the_cron_of_the_model_file_is_scheduled_with_one_instance(app):
    scheduler = Scheduler(app)
    scheduler.start()
    try:
        job = scheduler.scheduler.get_job("regrade")
        assert job.max_instances == 1 and job.coalesce
        assert str(job.trigger).startswith("cron[") and "minute='0'" in str(job.trigger)
        assert scheduler.scheduler.get_job("watch-model-file") is not None
    finally:
        scheduler.stop()


def test_the_scheduled_job_records_a_run(app, client, tokens):
    lead(client, tokens)
    run = regrade_job(app)
    assert run["trigger"] == "schedule" and run["leads"] == 1 and run["error"] is None


def test_the_scheduled_job_skips_while_another_process_holds_the_lease(app):
    db = connect(app.config["DATABASE"])
    run_store.take_lease(db, "regrade", "elsewhere", time.time(), 60)
    assert regrade_job(app) is None
    assert run_store.list_runs(db) == []


def test_a_changed_model_file_is_picked_up_and_regrades_everyone(app, client, tokens, config_file):
    lead(client, tokens)
    scheduler = Scheduler(app)
    data = yaml.safe_load(open(config_file))
    data["models"][0]["fit"]["thresholds"] = {"A": 90, "B": 45, "C": 20}
    time.sleep(0.01)
    with open(config_file, "w") as handle:
        yaml.safe_dump(data, handle)
    assert app.extensions["grading"].file_changed()
    scheduler._watch()
    assert app.extensions["grading"].config.models[0].fit_thresholds == (90, 45, 20)
    runs = client.get("/api/runs", headers=tokens["viewer"]).json["runs"]
    assert runs[0]["trigger"] == "model-change" and runs[0]["reason"] == "model-change"
    history = client.get("/api/leads/L-1", headers=tokens["viewer"]).json["history"]
    assert (history[-1]["from"], history[-1]["to"], history[-1]["reason"]) == (
        "A1",
        "B1",
        "model-change",
    )


def test_an_invalid_model_file_is_refused_and_the_old_one_keeps_grading(
    app, client, tokens, config_file
):
    scheduler = Scheduler(app)
    before = app.extensions["grading"].loaded.digest
    with open(config_file, "a") as handle:
        handle.write("\nmodels: oops\n")
    scheduler._watch()
    assert app.extensions["grading"].loaded.digest == before
    refused = client.get("/api/models", headers=tokens["viewer"]).json["refused"]
    assert refused and "models" in refused[0]
    lead(client, tokens)  # still grading with the old file
    assert client.get("/api/leads/L-1", headers=tokens["viewer"]).json["grades"]
