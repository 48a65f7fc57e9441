"""The benchmark of SPEC §9 (``make bench``): KPI recompute time, then page and API latency.

For each scale (``demo``: 1,500 clients and 3 years; ``L``: 60,000 clients and 5 years) the script

1. migrates and seeds a database of its own (``crm_bench_demo`` / ``crm_bench_l`` next to the
   database of ``--database-url``; ``--skip-seed`` reuses one seeded before) and runs ANALYZE;
2. times ``compute_kpis`` (all months and scopes) a few times;
3. serves the app with gunicorn on a free loopback port, production settings plus the
   ``Server-Timing`` middleware (``bench.settings``), logs in as the demo users and sends a
   bounded number of requests to every page and API list at concurrency 1 and 8;
4. prints one table and writes ``bench/RESULTS.md`` (with the machine it ran on; the raw rows of
   every scale measured so far are kept in ``bench/results.json``).

    python bench/run.py --scale demo
    python bench/run.py --scale L --skip-seed --requests 200
    python bench/run.py --database-url postgres://postgres@127.0.0.1:5432/postgres --scale both

Server time is what Django spent on the request (from the ``Server-Timing`` header: middleware,
view, template, SQL); "client" is the latency the load generator saw, gunicorn queueing included.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = sys.executable
STATIC_ROOT = Path(tempfile.gettempdir()) / "crm-bench-static"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
DEMO_PASSWORD = "abonent-demo"  # demo.logins.DEMO_PASSWORD (not imported: no Django here)

SCALES = {
    "demo": {"clients": 1500, "years": 3, "database": "crm_bench_demo", "kpi_budget": 2.0},
    "L": {"clients": 60000, "years": 5, "database": "crm_bench_l", "kpi_budget": 10.0},
}
PAGE_BUDGET_MS, PAGE_MAX_QUERIES, API_BUDGET_MS = 150.0, 20, 100.0


@dataclass
class Target:
    name: str
    path: str
    user: str  # the demo username whose session or token is used
    api: bool = False
    budget_ms: float = PAGE_BUDGET_MS
    max_queries: int | None = PAGE_MAX_QUERIES
    in_spec: bool = True  # False: SPEC §9 names no budget, the page one is shown for reference
    body: bytes | None = None  # a JSON body: the target is a POST (a computation, not a write)


@dataclass
class Row:
    target: str
    scale: str
    concurrency: int
    requests: int
    p50: float
    p95: float
    p99: float
    client_p95: float
    queries: str
    budget: str
    ok: str
    errors: int = 0
    sql_p50: float = 0.0
    cpu_p50: float = 0.0


@dataclass
class ScaleResult:
    scale: str
    meta: dict = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)


# --- databases -----------------------------------------------------------------------------


def database_url(base: str, name: str) -> str:
    parsed = urllib.parse.urlparse(base)
    if parsed.scheme.startswith("postgres"):
        return urllib.parse.urlunparse(parsed._replace(path=f"/{name}"))
    if parsed.scheme == "sqlite":
        folder = Path(parsed.path).parent if parsed.path.endswith(".sqlite3") else Path(parsed.path)
        return f"sqlite:///{folder / f'{name}.sqlite3'}"
    sys.exit(f"--database-url: PostgreSQL or SQLite, not {parsed.scheme!r}")


def _pg_admin(url: str):
    import psycopg2

    parsed = urllib.parse.urlparse(url)
    conn = psycopg2.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname="postgres",
    )
    conn.autocommit = True
    return conn


def _pg_query(url: str, sql: str, params=()) -> list[tuple]:
    import psycopg2

    parsed = urllib.parse.urlparse(url)
    with (
        psycopg2.connect(
            host=parsed.hostname,
            port=parsed.port or 5432,
            user=parsed.username,
            password=parsed.password,
            dbname=parsed.path.lstrip("/"),
        ) as conn,
        conn.cursor() as cursor,
    ):
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _sqlite_query(url: str, sql: str, params=()) -> list[tuple]:
    import sqlite3

    with sqlite3.connect(urllib.parse.urlparse(url).path) as conn:
        return conn.execute(sql.replace("%s", "?"), params).fetchall()


def query(url: str, sql: str, params=()) -> list[tuple]:
    if url.startswith("sqlite"):
        return _sqlite_query(url, sql, params)
    return _pg_query(url, sql, params)


def database_recreate(url: str) -> None:
    name = urllib.parse.urlparse(url).path.lstrip("/")
    if url.startswith("sqlite"):
        Path(urllib.parse.urlparse(url).path).unlink(missing_ok=True)
        return
    if not name.startswith("crm_bench"):
        sys.exit(f"refusing to recreate {name!r}: bench databases are named crm_bench_*")
    conn = _pg_admin(url)
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def database_exists(url: str) -> bool:
    if url.startswith("sqlite"):
        return Path(urllib.parse.urlparse(url).path).is_file()
    name = urllib.parse.urlparse(url).path.lstrip("/")
    conn = _pg_admin(url)
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        found = cursor.fetchone() is not None
    conn.close()
    return found


def server_env(url: str) -> dict[str, str]:
    """Production-like settings on loopback: DEBUG off, no Redis, no HTTPS redirect."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="false",
        SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        REDIS_URL="",
        # The demo director has no authenticator app; the bench logs in with the password only.
        OTP_REQUIRED_FOR_DIRECTORS="false",
        BENCH_STATIC_ROOT=str(STATIC_ROOT),
    )
    return env


def manage(url: str, *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=server_env(url),
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return result.stdout or ""


def prepare(scale: str, url: str, *, skip_seed: bool) -> dict:
    config = SCALES[scale]
    info: dict = {}
    if skip_seed:
        if not database_exists(url) or not query(url, "SELECT 1 FROM clients_client LIMIT 1"):
            sys.exit(f"--skip-seed: {url} has no seeded data; run once without --skip-seed")
        manage(url, "migrate", "--noinput", "-v0")
    else:
        database_recreate(url)
        manage(url, "migrate", "--noinput", "-v0")
        started = time.perf_counter()
        manage(
            url, "seed_demo", "--clients", str(config["clients"]), "--years", str(config["years"])
        )
        info["seed_seconds"] = round(time.perf_counter() - started, 1)
    if not url.startswith("sqlite"):
        started = time.perf_counter()
        vacuum(url)
        info["analyze_seconds"] = round(time.perf_counter() - started, 1)
    counts = {}
    for table in (
        "clients_client",
        "clients_contract",
        "clients_interaction",
        "retention_lostcase",
    ):
        counts[table] = query(url, f"SELECT count(*) FROM {table}")[0][0]
    info["rows"] = counts
    return info


def vacuum(url: str, table: str = "") -> None:
    """VACUUM ANALYZE (PostgreSQL), as autovacuum does after a bulk load or the nightly job."""
    if url.startswith("sqlite"):
        return
    import psycopg2

    parsed = urllib.parse.urlparse(url)
    conn = psycopg2.connect(
        host=parsed.hostname, port=parsed.port or 5432, user=parsed.username,
        password=parsed.password, dbname=parsed.path.lstrip("/"),
    )  # fmt: skip
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")
    conn.close()


def kpi_times(url: str, repeat: int) -> list[float]:
    seconds = []
    for _ in range(repeat):
        out = manage(url, "compute_kpis", capture=True)
        match = re.search(r"in ([0-9.]+) s", out)
        if not match:
            sys.exit(f"compute_kpis printed no time: {out!r}")
        seconds.append(float(match.group(1)))
    return seconds


# --- the server and its users ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, url: str, workers: int) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                GUNICORN, "crm.wsgi:application", "--config", "gunicorn.conf.py",
                "--bind", f"127.0.0.1:{self.port}",
                "--workers", str(workers), "--log-level", "warning",
            ],
            cwd=ROOT, env=server_env(url),
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status, _headers, _body = request(self.port, "GET", "/healthz/")
                if status == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                sys.exit("gunicorn exited at start-up")
            time.sleep(0.3)
        self.stop()
        sys.exit("gunicorn did not answer /healthz/ within 60 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def request(port: int, method: str, path: str, headers=None, body: bytes | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers={"Host": "127.0.0.1", **(headers or {})})
        response = conn.getresponse()
        data = response.read()
        return response.status, response.getheaders(), data
    finally:
        conn.close()


def _cookies(headers) -> dict[str, str]:
    jar = SimpleCookie()
    for name, value in headers:
        if name.lower() == "set-cookie":
            jar.load(value)
    return {key: morsel.value for key, morsel in jar.items()}


def session_login(port: int, username: str) -> dict[str, str]:
    """Log in through the login form, as a browser does; the session cookie as headers."""
    status, headers, body = request(port, "GET", "/login/")
    cookies = _cookies(headers)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if status != 200 or not token or "csrftoken" not in cookies:
        sys.exit(f"login page: HTTP {status}, no CSRF token")
    form = urllib.parse.urlencode(
        {"username": username, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token.group(1)}
    ).encode()
    status, headers, _body = request(
        port,
        "POST",
        "/login/",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookies['csrftoken']}",
        },
        body=form,
    )
    session = _cookies(headers).get("sessionid")
    if status != 302 or not session:
        sys.exit(f"login as {username}: HTTP {status}, no session")
    return {"Cookie": f"sessionid={session}"}


def token_login(port: int, username: str) -> dict[str, str]:
    body = json.dumps({"username": username, "password": DEMO_PASSWORD}).encode()
    status, _headers, data = request(
        port, "POST", "/api/v1/auth/token/", {"Content-Type": "application/json"}, body
    )
    if status != 200:
        sys.exit(f"API token for {username}: HTTP {status} {data[:200]!r}")
    return {"Authorization": f"Token {json.loads(data)['token']}"}


def targets(url: str) -> list[Target]:
    manager = "manager1"
    card = query(
        url,
        "SELECT c.id FROM clients_client c JOIN staff_user u ON u.id = c.manager_id "
        "LEFT JOIN clients_interaction i ON i.client_id = c.id WHERE u.username = %s "
        "GROUP BY c.id ORDER BY count(i.id) DESC, c.id LIMIT 1",
        [manager],
    )[0][0]
    # The open case with the longest history of return attempts that the return manager sees.
    case = query(
        url,
        "SELECT c.id FROM retention_lostcase c LEFT JOIN clients_interaction i "
        "ON i.client_id = c.client_id WHERE c.status = 'open' "
        "GROUP BY c.id ORDER BY count(i.id) DESC, c.id LIMIT 1",
    )[0][0]
    api = [
        "clients", "contracts", "interactions", "requests", "tasks", "referrals", "lost-cases",
        "staff", "kpi/monthly",
    ]  # fmt: skip
    return [
        Target("/dashboard/", "/dashboard/", "director"),
        Target("/my/", "/my/", manager),
        Target("client card", f"/clients/{card}/", manager),
        Target("/retention/", "/retention/", "returner"),
        Target("lost case", f"/retention/{case}/", "returner", in_spec=False),
        Target("/clients/", "/clients/", "director", in_spec=False),
        Target("/team/", "/team/", "director", in_spec=False),
        Target("/inbox/", "/inbox/", manager, in_spec=False),
        Target("bell", "/inbox/bell/", manager, in_spec=False),
        Target("/planner/", "/planner/", "director", in_spec=False),
        Target("/referrals/", "/referrals/", "director", in_spec=False),
        Target("/referrals/ (manager)", "/referrals/", manager, in_spec=False),
        *(
            Target(
                f"API {name}",
                f"/api/v1/{name}/",
                "director",
                api=True,
                budget_ms=API_BUDGET_MS,
                max_queries=None,
            )
            for name in api
        ),
        Target(
            "API kpi/planner",
            "/api/v1/kpi/planner/",
            "director",
            api=True,
            budget_ms=API_BUDGET_MS,
            max_queries=None,
            body=json.dumps({"churn_controllable": 0.01, "horizon": 60}).encode(),
        ),
        Target(
            "API interactions (manager)",
            "/api/v1/interactions/",
            manager,
            api=True,
            budget_ms=API_BUDGET_MS,
            max_queries=None,
        ),
    ]


# --- the load generator ----------------------------------------------------------------------

_TIMING = re.compile(r'app;dur=([0-9.]+).*sql;desc="(\d+)";dur=([0-9.]+)(?:.*cpu;dur=([0-9.]+))?')


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def load(
    port: int,
    path: str,
    headers: dict,
    *,
    requests: int,
    concurrency: int,
    body: bytes | None = None,
):
    """``requests`` GETs (POSTs of ``body`` when given) over ``concurrency`` threads, each on its
    own connection."""
    method = "GET" if body is None else "POST"
    if body is not None:
        headers = {**headers, "Content-Type": "application/json"}
    lock = threading.Lock()
    remaining = [requests]
    server, client, queries, errors, sql, cpu = [], [], [], [], [], []

    def worker() -> None:
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            started = time.perf_counter()
            try:
                status, response_headers, _body = request(port, method, path, headers, body)
            except OSError as error:
                with lock:
                    errors.append(str(error))
                continue
            elapsed = (time.perf_counter() - started) * 1000
            timing = {k.lower(): v for k, v in response_headers}.get("server-timing", "")
            match = _TIMING.search(timing)
            with lock:
                if status != 200 or not match:
                    errors.append(f"HTTP {status}")
                    continue
                client.append(elapsed)
                server.append(float(match.group(1)))
                queries.append(int(match.group(2)))
                sql.append(float(match.group(3)))
                cpu.append(float(match.group(4) or 0))

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return server, client, queries, errors, sql, cpu


def measure(scale: str, url: str, args) -> list[Row]:
    manage(url, "collectstatic", "--noinput", "-v0")
    server = Server(url, args.workers)
    rows = []
    try:
        found = targets(url)
        if args.only:
            wanted = {name.strip() for name in args.only.split(",")}
            found = [target for target in found if target.name in wanted]
        sessions: dict[tuple[str, bool], dict] = {}
        for target in found:
            key = (target.user, target.api)
            if key not in sessions:
                login = token_login if target.api else session_login
                sessions[key] = login(server.port, target.user)
        for target in found:
            headers = sessions[(target.user, target.api)]
            load(
                server.port,
                target.path,
                headers,
                requests=args.warmup,
                concurrency=1,
                body=target.body,
            )
            for concurrency in args.concurrency:
                times, client, queries, errors, sql, cpu = load(
                    server.port,
                    target.path,
                    headers,
                    requests=args.requests,
                    concurrency=concurrency,
                    body=target.body,
                )
                rows.append(
                    row_of(target, scale, concurrency, times, client, queries, errors, sql, cpu)
                )
                print(format_row(rows[-1]), flush=True)
    finally:
        server.stop()
    return rows


def row_of(target: Target, scale, concurrency, times, client, queries, errors, sql, cpu) -> Row:
    if not times:
        return Row(target.name, scale, concurrency, 0, 0, 0, 0, 0, "-", "-", "FAIL", len(errors))
    p95 = percentile(times, 95)
    low, high = min(queries), max(queries)
    query_text = str(high) if low == high else f"{low}-{high}"
    budget = f"p95 ≤ {target.budget_ms:.0f} ms"
    ok = p95 <= target.budget_ms and not errors
    if target.max_queries is not None:
        budget += f", ≤ {target.max_queries} q"
        ok = ok and high <= target.max_queries
    if not target.in_spec:
        budget += " (ref.)"
    return Row(
        target=target.name,
        scale=scale,
        concurrency=concurrency,
        requests=len(times),
        p50=round(percentile(times, 50), 1),
        p95=round(p95, 1),
        p99=round(percentile(times, 99), 1),
        client_p95=round(percentile(client, 95), 1),
        queries=query_text,
        budget=budget,
        ok="yes" if ok else "NO",
        errors=len(errors),
        sql_p50=round(percentile(sql, 50), 1),
        cpu_p50=round(percentile(cpu, 50), 1),
    )


def kpi_row(scale: str, seconds: list[float]) -> Row:
    budget = SCALES[scale]["kpi_budget"]
    worst = max(seconds)
    return Row(
        target="compute_kpis (s)",
        scale=scale,
        concurrency=1,
        requests=len(seconds),
        p50=round(statistics.median(seconds), 2),
        p95=round(worst, 2),
        p99=round(worst, 2),
        client_p95=0,
        queries="-",
        budget=f"≤ {budget:.0f} s",
        ok="yes" if worst <= budget else "NO",
    )


# --- output ------------------------------------------------------------------------------------

HEADER = (
    "page", "scale", "conc", "n", "p50", "p95", "p99", "client p95", "sql p50", "cpu p50",
    "queries", "budget", "ok",
)  # fmt: skip


def _cells(row: Row) -> tuple[str, ...]:
    errors = f" ({row.errors} errors)" if row.errors else ""
    return (
        row.target,
        row.scale,
        str(row.concurrency),
        str(row.requests),
        f"{row.p50:g}",
        f"{row.p95:g}",
        f"{row.p99:g}",
        f"{row.client_p95:g}" if row.client_p95 else "-",
        f"{row.sql_p50:g}" if row.sql_p50 else "-",
        f"{row.cpu_p50:g}" if row.cpu_p50 else "-",
        row.queries,
        row.budget,
        row.ok + errors,
    )


def format_row(row: Row) -> str:
    return " | ".join(_cells(row))


def table(rows: list[Row]) -> str:
    lines = [HEADER, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    text = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)


def machine(url: str) -> dict:
    cpu = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        kib = int(meminfo.readline().split()[1])
    if url.startswith("sqlite"):
        database = "SQLite"
    else:
        database = "PostgreSQL " + query(url, "SHOW server_version")[0][0]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(kib / 1024 / 1024, 1),
        "database": database,
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def results_write(results: dict[str, ScaleResult]) -> None:
    store = BENCH / "results.json"
    stored = json.loads(store.read_text()) if store.is_file() else {}
    for scale, result in results.items():
        stored[scale] = {"meta": result.meta, "rows": [asdict(row) for row in result.rows]}
    store.write_text(json.dumps(stored, indent=1, ensure_ascii=False) + "\n")

    order = [scale for scale in SCALES if scale in stored]
    rows = [Row(**row) for scale in order for row in stored[scale]["rows"]]
    rows.sort(key=lambda row: (row.target != "compute_kpis (s)", row.target, row.concurrency))
    out = [
        "# Benchmark results (SPEC §9)",
        "",
        "Written by `make bench` (`bench/run.py`). Times are server time in milliseconds: what",
        'Django spent on the request, SQL included (`Server-Timing`); "client p95" is the latency',
        'the load generator saw on loopback, gunicorn queueing included; "sql p50" is the SQL part',
        'of server time and "cpu p50" the CPU time of the worker (what a busy machine does not',
        "inflate). `compute_kpis` rows are",
        'seconds: median (p50) and worst (p95/p99) of the runs. "(ref.)": SPEC §9 names no',
        "budget for that page; the page budget is shown for reference.",
        "",
        "Served as deployed: gunicorn with 3 sync workers (`gunicorn.conf.py`), `DEBUG` off, hashed static files,",
        "`CONN_MAX_AGE` 0, no Redis (local-memory cache), on loopback; the demo director logs in",
        "without the second factor (`OTP_REQUIRED_FOR_DIRECTORS=false`) and the API throttle rates",
        "are raised (`bench/settings.py`). Pages are opened by the users who work in them: the",
        "director (/dashboard/, /clients/, /team/, the API lists), `manager1` (/my/, the card of",
        "their client with the longest history, their API interactions) and `returner`",
        "(/retention/ and the open case with the most return attempts). The machine is shared:",
        "the load average before and after each run is listed; on 2 cores a load above 2 stretches",
        'wall-clock server time while "cpu p50" stays what the request costs.',
        "",
    ]
    for scale in order:
        meta = stored[scale]["meta"]
        out.append(f"## Scale {scale}")
        out.append("")
        for key in (
            "date", "cpu", "cores", "ram_gib", "database", "python", "workers", "requests",
            "load_before", "load_after", "seed_seconds", "rows",
        ):  # fmt: skip
            if key in meta:
                out.append(f"- {key}: {meta[key]}")
        out.append("")
    out += ["## Table", "", "```", table(rows), "```", ""]
    (BENCH / "RESULTS.md").write_text("\n".join(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="server to use; each scale gets its own database crm_bench_<scale> there",
    )
    parser.add_argument("--scale", choices=["demo", "L", "both"], default="demo")
    parser.add_argument("--skip-seed", action="store_true", help="reuse a seeded bench database")
    parser.add_argument("--requests", type=int, default=100, help="per page and concurrency")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8])  # fmt: skip
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (as deployed)")
    parser.add_argument("--kpi-repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated page names to measure")
    args = parser.parse_args()

    scales = ["demo", "L"] if args.scale == "both" else [args.scale]
    results: dict[str, ScaleResult] = {}
    for scale in scales:
        url = database_url(args.database_url, SCALES[scale]["database"])
        print(f"== scale {scale}: {url}", flush=True)
        meta = {"date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")}
        meta.update(prepare(scale, url, skip_seed=args.skip_seed))
        meta.update(machine(url))
        meta.update(workers=args.workers, requests=args.requests)
        meta["load_before"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        result = ScaleResult(scale, meta)
        seconds = kpi_times(url, args.kpi_repeat)
        result.rows.append(kpi_row(scale, seconds))
        # The recompute rewrote every snapshot row: let the pages read them as they would once
        # autovacuum has passed after the nightly job.
        vacuum(url, "kpi_kpisnapshot")
        print(format_row(result.rows[-1]), flush=True)
        result.rows += measure(scale, url, args)
        meta["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        results[scale] = result
    all_rows = [row for result in results.values() for row in result.rows]
    print()
    print(table(all_rows))
    results_write(results)
    print(f"\nwritten to {BENCH / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
