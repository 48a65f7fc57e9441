"""Test overlay: the same settings, made fast and deterministic.

DATABASE_URL and REDIS_URL still come from the environment, so CI runs the suite against the real
PostgreSQL and Redis; without them the suite runs on SQLite with eager Celery.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# Role tests log in with a password only; tests/security turns two-factor on where it is tested.
os.environ.setdefault("OTP_REQUIRED_FOR_DIRECTORS", "false")
# Parallel test processes (pytest-xdist: gw0, gw1, ...) clear the cache around every test, and on
# Redis that empties the whole database: each process gets a database of its own, REDIS_URL's
# number plus the process's.
if os.environ.get("REDIS_URL") and os.environ.get("PYTEST_XDIST_WORKER"):
    from urllib.parse import urlsplit, urlunsplit

    _url = urlsplit(os.environ["REDIS_URL"])
    _db = int(_url.path.strip("/") or 0) + int(os.environ["PYTEST_XDIST_WORKER"].removeprefix("gw"))
    os.environ["REDIS_URL"] = urlunsplit(_url._replace(path=f"/{_db}"))

from crm.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Tests run tasks in-process unless a test starts a real worker on purpose.
CELERY_TASK_ALWAYS_EAGER = True
LANGUAGE_CODE = "ru"
