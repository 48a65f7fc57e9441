"""The web workers' garbage-collector settings (gunicorn.conf.py): start-up objects frozen, young
objects collected less often, so that a full collection does not land in a request."""

from __future__ import annotations

import gc
import runpy
from pathlib import Path

from django.conf import settings


def test_a_worker_freezes_its_start_up_objects_and_collects_less_often():
    config = runpy.run_path(str(Path(settings.BASE_DIR) / "gunicorn.conf.py"))
    thresholds = gc.get_threshold()
    try:
        config["post_worker_init"](worker=None)

        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold() == config["GC_THRESHOLDS"]
        assert gc.get_threshold()[0] > thresholds[0]
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_every_gunicorn_command_uses_the_config():
    root = Path(settings.BASE_DIR)
    for path in ("Dockerfile", "docker-compose.yml", "bench/run.py"):
        assert '"--config", "gunicorn.conf.py"' in (root / path).read_text(), path
