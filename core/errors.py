"""Domain errors shared by services, pages and the API."""


class Conflict(Exception):
    """The action lost a race or no longer applies (e.g. a case already claimed): HTTP 409."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class QueueUnavailable(Exception):
    """The task queue (Redis) cannot take a job right now: HTTP 503. Pages keep working from the
    stored snapshots and say that the numbers may be stale (SPEC §5)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
