"""Who changed a tracked field, and through which entry point (RELIABILITY R24).

The triggers of ``core.field_triggers`` read the actor and the source from two settings of the
database session, ``crm.actor_id`` and ``crm.source``. Each entry point binds them once:

* web pages, the admin and the API — :class:`crm.middleware.FieldHistoryMiddleware` (and, for a
  token-authenticated API call, ``core.api.TokenAuthentication``, because DRF authenticates
  inside the view, after every middleware);
* Celery tasks — the ``task_prerun``/``task_postrun`` signals connected below;
* management commands and scripts — ``with acting_as(source=ChangeSource.COMMAND): ...``.

Why session settings and not ``SET LOCAL``: requests run in autocommit (no ``ATOMIC_REQUESTS``),
so a transaction-local setting would vanish after its own statement. A session setting is made
at the boundary, outside any transaction, so no rollback can undo it, and it is always undone at
the end of the boundary (bindings nest: an eager task inside a request restores the request's
binding). A persistent connection therefore never carries an actor into the next request; if the
reset cannot run, the connection is closed. A connection opened while a binding is active (after
a dropped connection) gets the binding at once through ``connection_created``. The settings must
not pass through a transaction-pooling proxy (pgbouncer ``pool_mode=transaction``), which would
hand a session setting to another client.

On SQLite there are no triggers and all of this does nothing.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass

from celery.signals import task_postrun, task_prerun
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection
from django.db.backends.signals import connection_created
from django.db.transaction import TransactionManagementError
from django.dispatch import receiver

from core.models import ChangeSource

# The columns the triggers watch (the same as migration crm 0002; a test keeps them equal).
TRACKED_FIELDS = {
    "clients_client": ["manager_id", "status"],
    "clients_clientassignment": ["manager_id", "starts_on", "ends_on"],
    "clients_contract": ["kind", "starts_on", "ends_on", "monthly_fee", "termination_reason"],
    "retention_lostcase": ["return_manager_id", "claimed_at", "status"],
    "staff_user": ["role", "mentor_id", "is_active"],
}


@dataclass
class Binding:
    actor_id: int | None
    source: str


logger = logging.getLogger(__name__)
_state = threading.local()


def _stack() -> list[Binding]:
    if not hasattr(_state, "bindings"):
        _state.bindings = []
    return _state.bindings


def _write(binding: Binding | None, cursor=None) -> None:
    actor = "" if binding is None or binding.actor_id is None else str(binding.actor_id)
    source = "" if binding is None else binding.source
    sql = "SELECT set_config('crm.actor_id', %s, false), set_config('crm.source', %s, false)"
    if cursor is not None:
        cursor.execute(sql, [actor, source])
        return
    with connection.cursor() as own_cursor:
        own_cursor.execute(sql, [actor, source])


def current() -> Binding | None:
    """The innermost active binding of this thread, if any."""
    stack = _stack()
    return stack[-1] if stack else None


def bind(*, actor_id: int | None, source: str) -> Binding:
    """Start a binding; pair every call with :func:`unbind` of the returned object."""
    binding = Binding(actor_id=actor_id, source=ChangeSource(source).value)
    stack = _stack()
    stack.append(binding)
    if connection.vendor == "postgresql":
        try:
            _write(binding)
        except Exception:
            # The caller never gets the binding to unbind: it must not outlive this call.
            stack.remove(binding)
            raise
    return binding


def rebind_actor(actor_id: int | None) -> None:
    """Name the actor of the current binding once it is known (an API token is checked inside
    the view); nothing when no entry point bound this thread or the actor is already right."""
    binding = current()
    if binding is None or binding.actor_id == actor_id:
        return
    binding.actor_id = actor_id
    if connection.vendor == "postgresql":
        _write(binding)


def unbind(binding: Binding) -> None:
    """End ``binding`` (and any binding left open inside it) and restore the one around it."""
    stack = _stack()
    if binding in stack:
        del stack[stack.index(binding) :]
    if connection.vendor != "postgresql" or connection.connection is None:
        return  # a closed connection carries nothing; a new one starts clean
    try:
        _write(current())
    except (DatabaseError, TransactionManagementError):
        # Never raised: it would hide the error that broke the connection or transaction.
        logger.warning("Field history: could not reset the actor of the connection.")
        if not connection.in_atomic_block:
            connection.close()  # it must not serve anyone else with the old actor
        # Inside a transaction the reset fails only when the transaction is aborted; rolling it
        # back restores the settings it started with, since bindings nest inside it.


@contextmanager
def acting_as(actor=None, *, source: str):
    """Attribute the tracked changes made inside the block to ``actor`` (a user or None) and
    ``source`` — for management commands, scripts and tests."""
    binding = bind(actor_id=getattr(actor, "pk", actor), source=source)
    try:
        yield binding
    finally:
        unbind(binding)


@receiver(connection_created)
def _bind_new_connection(sender, connection, **kwargs):
    # Only the default connection writes tracked tables, and only it is reset by ``unbind``.
    binding = current()
    if (
        binding is not None
        and connection.alias == DEFAULT_DB_ALIAS
        and connection.vendor == "postgresql"
    ):
        with connection.connection.cursor() as cursor:
            _write(binding, cursor)


# --- Celery: every task runs bound to the source "task" (eager calls included) -------------

_task_bindings: dict[str, Binding] = {}


@task_prerun.connect
def _bind_task(task_id=None, **kwargs):
    _task_bindings[task_id] = bind(actor_id=None, source=ChangeSource.TASK)


@task_postrun.connect
def _unbind_task(task_id=None, **kwargs):
    binding = _task_bindings.pop(task_id, None)
    if binding is not None:
        unbind(binding)
