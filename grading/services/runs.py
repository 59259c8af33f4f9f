"""Re-grade runs: one at a time across processes (a lease), each recorded with its outcome."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from grading.core.times import iso_text

from ..store import audit
from ..store import runs as run_store
from ..store.db import get_meta, refresh_statistics, set_meta
from .grading import regrade
from .model_file.active import ModelState
from .model_file.read import LoadedConfig

log = logging.getLogger("grading.scheduler")  # where reloads have always been logged

LEASE = "regrade"
LEASE_SECONDS = 120.0  # renewed after every slice of leads; a crashed holder frees it this fast
MODEL_DIGEST = "graded_model_digest"  # the model file version of the last full re-grade


class Busy(Exception):
    """Another process holds the re-grade lease."""


@dataclass(frozen=True)
class Holder:
    name: str

    @classmethod
    def mine(cls) -> Holder:
        return cls(f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")


def ended_here(holder: str) -> bool:
    """True when the holder is a process of this machine that no longer runs (Holder.mine)."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:
        pass
    return False


def reason_for(db: sqlite_utils.Database, loaded: LoadedConfig) -> str:
    graded = get_meta(db, MODEL_DIGEST)
    return "model-change" if graded not in (None, loaded.digest) else "regrade"


def run_regrade(
    db: sqlite_utils.Database,
    loaded: LoadedConfig,
    *,
    trigger: str,
    as_of: datetime | None = None,
    models: list[str] | None = None,
    wait_seconds: float = 0.0,
    reason: str | None = None,
    lead_ids: Sequence[int] | None = None,
    full: bool = False,
) -> dict:
    """Re-grade under the lease and record the run; raise Busy when the lease stays taken.

    Every bulk grading is a run, whoever starts it (the schedule, an admin, `grading regrade`,
    the demo filler, `grading import` with `lead_ids`, the leads it touched), so the runs page
    tells what graded the database; only an API or web write re-grades its few leads unrecorded."""
    holder = Holder.mine().name
    deadline = time.monotonic() + wait_seconds
    while not run_store.take_lease(db, LEASE, holder, time.time(), LEASE_SECONDS):
        current = run_store.lease_holder(db, LEASE, time.time())
        if current and ended_here(current):
            run_store.release_lease(db, LEASE, current)  # a killed server's: free it at once
            continue
        if time.monotonic() >= deadline:
            raise Busy(current or "another process")
        time.sleep(0.2)
    try:
        reason = reason or reason_for(db, loaded)
        started = datetime.now(UTC)
        # Only the lease holder runs: a run still open now was cut off when its process ended.
        run_store.interrupt_unfinished(db, iso_text(started))
        run_id = run_store.start_run(db, trigger, reason, iso_text(started), loaded.digest)
        try:
            result = regrade(
                db,
                loaded.config,
                as_of=as_of or started,
                reason=reason,
                models=models,
                lead_ids=lead_ids,
                full=full,
                progress=lambda _: run_store.take_lease(
                    db, LEASE, holder, time.time(), LEASE_SECONDS
                ),
            )
        except Exception as error:
            run_store.finish_run(
                db, run_id, iso_text(datetime.now(UTC)), error=f"{type(error).__name__}: {error}"
            )
            raise
        run_store.finish_run(
            db,
            run_id,
            iso_text(datetime.now(UTC)),
            leads=result.leads,
            changed=result.changed,
            rows_written=result.rows_written,
            kept=result.kept,
        )
        if not models and lead_ids is None:  # everyone was graded under this model file
            set_meta(db, MODEL_DIGEST, loaded.digest)
        refresh_statistics(db)
        return next(r for r in run_store.list_runs(db, limit=5) if r["id"] == run_id)
    finally:
        run_store.release_lease(db, LEASE, holder)


def recent_runs(db: sqlite_utils.Database, limit: int = 50) -> dict[str, Any]:
    """The latest runs, newest first, and who holds the re-grade lease now (None: nobody)."""
    return {
        "runs": run_store.list_runs(db, limit=limit),
        "running": run_store.lease_holder(db, LEASE, time.time()),
    }


def reload_model_file(
    db: sqlite_utils.Database,
    state: ModelState,
    *,
    actor: str,
    on_change: Callable[[], object] | None = None,
) -> dict[str, Any]:
    """Re-read the model file: an invalid one is refused (the old one keeps serving); a valid
    change calls `on_change` (the scheduler's new schedule), then re-grades everyone with reason
    model-change. Both are written to the audit log, naming `actor`."""
    outcome = state.reload()
    if not outcome.problems and not outcome.changed:
        return {"changed": False, "problems": [], "run": None}
    if outcome.problems:
        log.warning("model file refused: %s", "; ".join(outcome.problems))
        detail = {"result": "refused", "problems": len(outcome.problems)}
    else:
        detail = {"result": "active", "digest": state.loaded.digest[:12]}
    audit.record(db, actor, "model.reload", state.path, detail)
    run = None
    if outcome.changed:
        if on_change is not None:
            on_change()
        run = run_regrade(
            db, state.loaded, trigger="model-change", reason="model-change", wait_seconds=600
        )
    return {"changed": outcome.changed, "problems": outcome.problems, "run": run}
