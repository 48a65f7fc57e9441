"""Server timing for the benchmark (``bench/run.py``); never installed in production.

``bench.settings`` puts :class:`ServerTimingMiddleware` first in ``MIDDLEWARE``. Each response
then carries ``Server-Timing: app;dur=<ms>, sql;desc="<queries>";dur=<ms>, cpu;dur=<ms>``: the time Django
spent on the request (middleware, view, template), the number and time of the SQL queries it ran
(counted with ``connection.execute_wrapper`` so that ``DEBUG`` can stay off) and the CPU time of
the worker process, which a busy machine does not inflate the way it inflates wall time.
"""

from __future__ import annotations

import time

from django.db import connection


class _QueryCounter:
    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - started


class ServerTimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        counter = _QueryCounter()
        started, cpu = time.perf_counter(), time.process_time()
        with connection.execute_wrapper(counter):
            response = self.get_response(request)
            # A streamed or lazily rendered body is rendered inside the measured span.
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        response["Server-Timing"] = (
            f"app;dur={elapsed * 1000:.2f}, "
            f'sql;desc="{counter.count}";dur={counter.seconds * 1000:.2f}, '
            f"cpu;dur={cpu * 1000:.2f}"
        )
        return response
