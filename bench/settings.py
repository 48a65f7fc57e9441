"""Production settings plus the benchmark's server timing (``bench/run.py`` serves the app with
these). Everything else comes from ``crm.settings`` and the environment, as in production."""

import os

from crm.settings import *  # noqa: F403
from crm.settings import MIDDLEWARE, REST_FRAMEWORK, STATIC_ROOT

# bench/run.py collects the static files (hashed names, as deployed) into a folder of its own.
STATIC_ROOT = os.environ.get("BENCH_STATIC_ROOT", STATIC_ROOT)

MIDDLEWARE = ["bench.middleware.ServerTimingMiddleware", *MIDDLEWARE]

# The load generator is one user sending thousands of requests a minute: the per-user API
# throttle still runs (its cache look-up is part of the measured time) but never refuses.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "anon": "1000000/min",
        "user": "1000000/min",
        "auth": "1000/min",
    },
}
