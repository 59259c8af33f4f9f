"""The worker processes of a full pass over a large database (a re-grade, a preview)."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

CHUNK = 2000  # leads graded at once
PARALLEL_MIN_LEADS = 20_000  # below this, starting worker processes costs more than it saves
SLICE = 5 * CHUNK  # lead ids per task handed to a worker process


def default_workers() -> int:
    """One worker per core, at most 4."""
    return min(4, os.cpu_count() or 1)


@contextmanager
def worker_pool(
    workers: int, initializer: Callable[..., None], initargs: tuple[Any, ...]
) -> Iterator[ProcessPoolExecutor]:
    """A pool whose workers each run `initializer(*initargs)` first (to open their own
    connection) and end when this process does."""
    # Fork is quick, but forking a process with other threads (the server) can inherit a held
    # lock: spawn there.
    context = multiprocessing.get_context("fork" if threading.active_count() == 1 else "spawn")
    with ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs),
    ) as pool:
        yield pool


def _start_worker(parent: int, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> None:
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    initializer(*initargs)


def _exit_with_parent(parent: int) -> None:
    # A worker never sees its pool's queue close (it holds the pipe's write end itself): when the
    # server is killed, it would live on and work without the lease. A chunk cut off here is
    # rolled back by SQLite.
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)
