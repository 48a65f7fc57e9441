"""Backup restore drill (RELIABILITY R32): prove that a ``pg_dump`` of the database restores.

1. Seed a small demo company into a scratch PostgreSQL database.
2. ``pg_dump -Fc`` it.
3. ``createdb`` another scratch database and ``pg_restore --exit-on-error --single-transaction``.
4. ``manage.py migrate --check`` on the restored database.
5. Compare the row count of every table, and an md5 of the ordered ids of the main tables.
6. Smoke check: ``manage.py check`` and a query through the ORM.
7. Print the restore time (RTO) and drop both scratch databases.

Usage: ``python scripts/backup_drill.py [--clients 150] [--years 2] [--keep]``. The server comes from
``DRILL_DATABASE_URL`` (default: the local PostgreSQL as ``postgres``); the PostgreSQL client tools
must be on PATH. Exit status 0 only when every check passed. Manual or nightly: it takes about a
minute, so it is not part of ``make test``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
MAIN_TABLES = (
    "staff_user",
    "clients_client",
    "clients_contract",
    "clients_clientassignment",
    "clients_interaction",
    "clients_clientrequest",
    "retention_lostcase",
    "kpi_kpisnapshot",
    "clients_historicalclient",
)


def run(*args: str, env: dict | None = None) -> str:
    done = subprocess.run(  # noqa: S603 - fixed tools and arguments of this project
        list(args), cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"FAILED: {' '.join(args[:3])} … (exit {done.returncode})")
    return done.stdout


def with_name(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def manage(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("REDIS_URL", None)  # the drill needs no queue
    env.setdefault("SECRET_KEY", "backup-drill-only")
    return run(sys.executable, "manage.py", *args, env=env)


def psql(url: str, sql: str) -> str:
    return run("psql", "--no-psqlrc", "-qtAX", "-d", url, "-c", sql).strip()


def fingerprint(url: str) -> dict[str, str]:
    """Row count of every table, plus an md5 of the ordered ids of the main tables."""
    tables = psql(
        url,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    ).split()
    # Table names come from the catalogue, not from input.
    select = "SELECT '{0}', count(*)::text FROM \"{0}\""
    counts = " UNION ALL ".join(select.format(table) for table in tables)
    result = dict(line.split("|") for line in psql(url, counts).splitlines())
    for table in MAIN_TABLES:
        key = "history_id" if "historical" in table else "id"
        result[f"{table}:md5"] = psql(
            url,
            f"SELECT md5(coalesce(string_agg({key}::text, ',' ORDER BY {key}), '')) FROM {table}",  # noqa: S608 - model table names
        )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=150)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep both scratch databases")
    options = parser.parse_args()
    server = os.environ.get("DRILL_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    tag = uuid.uuid4().hex[:8]
    source, restored = (
        with_name(server, f"crm_drill_{tag}"),
        with_name(server, f"crm_drill_{tag}_restored"),
    )
    started = time.monotonic()
    try:
        psql(server, f'CREATE DATABASE "crm_drill_{tag}"')
        manage(source, "migrate", "--noinput")
        manage(
            source, "seed_demo", "--clients", str(options.clients), "--years", str(options.years)
        )
        seeded = time.monotonic()
        print(
            f"seeded {options.clients} clients × {options.years} years in {seeded - started:.1f} s"
        )
        with tempfile.TemporaryDirectory() as folder:
            dump = Path(folder) / "crm.dump"
            run("pg_dump", "-Fc", "--no-owner", "-f", str(dump), "-d", source)
            dumped = time.monotonic()
            print(f"pg_dump -Fc: {dump.stat().st_size / 1024:.0f} KiB in {dumped - seeded:.1f} s")
            psql(server, f'CREATE DATABASE "crm_drill_{tag}_restored"')
            run(
                "pg_restore",
                "--exit-on-error",
                "--single-transaction",
                "--no-owner",
                "-d",
                restored,
                str(dump),
            )
        manage(restored, "migrate", "--check")
        manage(restored, "check")
        smoke = (
            manage(
                restored,
                "shell",
                "-c",
                "from clients.models import Client; from staff.models import User; "
                "print(Client.objects.filter(status='active').count(), User.objects.count())",
            )
            .splitlines()[-1]
            .split()
        )
        rto = time.monotonic() - dumped
        before, after = fingerprint(source), fingerprint(restored)
        differing = sorted(
            key for key in before.keys() | after.keys() if before.get(key) != after.get(key)
        )
        tables = sum(1 for key in before if ":" not in key)
        rows = sum(int(value) for key, value in before.items() if ":" not in key)
        print(
            f"compared {tables} tables, {rows} rows, md5 of ids of {len(MAIN_TABLES)} main tables"
        )
        print(f"smoke: {smoke[0]} active clients, {smoke[1]} users on the restored database")
        if differing:
            print("MISMATCH: " + ", ".join(differing))
            return 1
        print(f"RTO (restore + migrate --check + smoke): {rto:.1f} s")
        print("backup drill: OK")
        return 0
    finally:
        if not options.keep:
            for name in (f"crm_drill_{tag}_restored", f"crm_drill_{tag}"):
                psql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
