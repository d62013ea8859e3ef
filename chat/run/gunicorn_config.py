"""Gunicorn server hooks for the metrics of several workers:

    gunicorn -c python:chat.run.gunicorn_config chat.run.gunicorn_app:app_runner -k aiohttp.GunicornWebWorker ...

With PROMETHEUS_MULTIPROC_DIR set, each worker keeps its metrics in files there and a scrape of any
worker adds them all up. The files are removed when gunicorn starts (an earlier run's counts would
be added to this one's), and a worker that exits has its share of the live gauges (open streams) dropped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prometheus_client import multiprocess

from chat.accounting.metrics import MULTIPROCESS_DIR

FILE_KINDS = ("counter", "gauge", "histogram", "summary")  # how prometheus-client names its files


def on_starting(server: Any) -> None:
    if directory := os.environ.get(MULTIPROCESS_DIR):
        Path(directory).mkdir(parents=True, exist_ok=True)
        for kind in FILE_KINDS:
            for path in Path(directory).glob(f"{kind}_*.db"):
                path.unlink()


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get(MULTIPROCESS_DIR):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
