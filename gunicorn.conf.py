"""gunicorn settings of the web process (``docker-compose.yml``'s ``web``, the benchmark).

Python's cyclic garbage collector walks every tracked object on its full collections. Once
Django, DRF and pandas are imported that is hundreds of thousands of objects, and a collection
that lands in a request adds tens of milliseconds to it: it was most of the benchmark's p95 on
the client list. Each worker therefore freezes what it imported at start-up (``gc.freeze``: those
objects are never walked again) and collects young objects less often.
"""

import gc

# Collect the young generation every 50,000 net allocations (Python's default is 700); a request
# allocates tens of thousands of short-lived objects, mostly freed by reference counting anyway.
GC_THRESHOLDS = (50_000, 20, 100)


def post_worker_init(worker):
    """After the worker has imported the application: keep its start-up objects out of every
    later collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
