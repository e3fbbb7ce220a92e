"""``make soak``: the production stack under a crowd while its processes are killed, then an audit.

For each database (SQLite, PostgreSQL): a fresh database with the demo data and 40 accounts of its own, gunicorn
as ``deploy/gunicorn.conf.py`` runs it (4 sync workers, ``APP_ENV=production``, rate limits shared in Redis) and
``flask search worker`` beside it, as the systemd units do. ``--clients`` clients (default 40; a third akims who
write and publish case studies, a third signed-in readers who register, cancel and ask questions, a third
anonymous readers who search and read) run for ``--seconds``, while every 2–5 s a random gunicorn worker is
killed with SIGKILL (gunicorn starts another) and every fourth time the search worker too (restarted after a
second, as systemd's ``Restart=always`` does). Then the search worker drains the outbox and the audit checks:

- no acknowledged write is lost: every publish answered with a redirect is a published case that search finds
  by its marker word, every acknowledged question exists, every client's last acknowledged registration state is
  its row's state;
- ``flask search check`` is clean;
- no 5xx, no "database is locked"/deadlock/traceback in any log;
- counts equal rows: ``registered_count`` of every meeting is its number of registered rows, within capacity.

It prints p50/p95 per request kind and the counts (``results.md`` and ``results.json`` in ``--workdir``), and
exits 1 when a check fails. A request cut off by a killed worker is counted as "interrupted" (the client saw a
reset connection, never a 5xx); its write is not acknowledged, so it is not checked either way.

    .venv/bin/python bench/soak.py [--seconds 180] [--clients 40] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.http_client import Browser  # noqa: E402
from tests.http_client import Interrupted  # noqa: E402
from tests.http_client import hidden_fields  # noqa: E402

PG_URL = os.environ.get("SOAK_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "soak-steppe-exchange-2026"
CAPACITY = 4  # seats of the soak meeting: the readers (13 of 40 clients) compete for them, the waitlist moves
LOCK_PATTERNS = ("database is locked", "deadlock detected", "could not serialize", "Traceback")
WORDS = ("snow clearing", "bus lanes", "public council", "street lighting", "school meals", "district heating",
         "water meters", "budget hearings", "waste sorting", "park renovation")


# --------------------------------------------------------------------------------------------------------------
# Processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """One database's production stack: settings, set-up commands, gunicorn and the search worker."""

    def __init__(self, backend: str, workdir: Path):
        self.backend = backend
        self.work = workdir / backend
        subprocess.run(["rm", "-rf", str(self.work)], check=True)
        self.work.mkdir(parents=True)
        self.port = free_port()
        self.schema = None
        if backend == "sqlite":
            url = f"sqlite:///{self.work / 'soak.sqlite3'}"
        else:
            import sqlalchemy as sa

            self.schema = f"soak_{uuid.uuid4().hex[:12]}"
            engine = sa.create_engine(PG_URL)
            with engine.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
            engine.dispose()
            url = f"{PG_URL}?options=-csearch_path%3D{self.schema}"
        self.url = url
        self.env = dict(
            os.environ, FLASK_APP="wsgi", DATABASE_URL=url, SECRET_KEY=secrets.token_urlsafe(48),
            BASE_URL=f"http://127.0.0.1:{self.port}", SESSION_COOKIE_SECURE="false",
            SEARCH_INDEX_DIR=str(self.work / "search_index"), UPLOAD_DIR=str(self.work / "uploads"),
            INSTANCE_DIR=str(self.work / "instance"), MAIL_OUTBOX_DIR=str(self.work / "outbox"), MAIL_SERVER="",
            GUNICORN_BIND=f"127.0.0.1:{self.port}", GUNICORN_WORKERS="4",
            RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0", RATELIMIT_KEY_PREFIX=f"soak-{uuid.uuid4().hex[:8]}",
            # 40 clients log in from one address at the start: the per-address limit is for the open internet.
            LOGIN_LIMIT_PER_IP="1000 per minute", QUESTION_LIMIT="1000 per hour",
        )
        self.env.pop("FLASK_DEBUG", None)
        self.web = self.worker = None
        self.web_log = (self.work / "gunicorn.log").open("ab")
        self.worker_log = (self.work / "search-worker.log").open("ab")

    def flask(self, *args: str, production: bool = True) -> subprocess.CompletedProcess:
        env = dict(self.env, APP_ENV="production" if production else "development")
        return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)

    def prepare(self, clients: int) -> None:
        """Migrate, load the demo data (a development command), add the soak accounts and meeting, reindex."""
        for args, production in ((("db", "upgrade"), True), (("seed-demo",), False)):
            done = self.flask(*args, production=production)
            if done.returncode != 0:
                raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        script = ROOT / "bench" / "soak_setup.py"
        done = subprocess.run([sys.executable, str(script), str(clients), PASSWORD, str(CAPACITY)], cwd=ROOT,
                              env=dict(self.env, APP_ENV="development"), capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise SystemExit(f"soak set-up failed:\n{done.stdout}\n{done.stderr}")
        self.setup = json.loads(done.stdout.strip().splitlines()[-1])
        done = self.flask("search", "reindex")
        if done.returncode != 0:
            raise SystemExit(f"reindex failed:\n{done.stdout}\n{done.stderr}")

    def start_web(self) -> None:
        env = dict(self.env, APP_ENV="production")
        self.web = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", "deploy/gunicorn.conf.py",
                                     "wsgi:app"], cwd=ROOT, env=env, stdout=self.web_log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise SystemExit(f"gunicorn exited: {(self.work / 'gunicorn.log').read_text()[-3000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200 and len(self.web_workers()) == 4:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit("gunicorn did not answer /healthz within 120 s")

    def start_worker(self) -> None:
        env = dict(self.env, APP_ENV="production")
        self.worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "search", "worker"], cwd=ROOT,
                                       env=env, stdout=self.worker_log, stderr=subprocess.STDOUT)

    def web_workers(self) -> list[int]:
        try:
            return [int(p) for p in Path(f"/proc/{self.web.pid}/task/{self.web.pid}/children").read_text().split()]
        except (FileNotFoundError, ValueError):
            return []

    def stop(self) -> None:
        for proc in (self.worker, self.web):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.web_log.close()
        self.worker_log.close()

    def drop(self) -> None:
        if self.schema:
            import sqlalchemy as sa

            engine = sa.create_engine(PG_URL)
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            engine.dispose()


# --------------------------------------------------------------------------------------------------------------
# Clients


class Client:
    """A browser of the soak (:class:`tests.http_client.Browser`) whose every request is recorded by the run."""

    def __init__(self, run: Run, email: str | None):
        self.run = run
        self.email = email
        self.browser = Browser(run.stack.port)

    def request(self, kind: str, method: str, path: str, data: dict | None = None) -> tuple[int, dict, str]:
        started = time.perf_counter()
        try:
            response = self.browser.request(method, path, data)
        except Interrupted as exc:
            self.run.record(kind, None, (time.perf_counter() - started) * 1000, str(exc))
            raise
        self.run.record(kind, response.status, response.ms, response.text[:300] if response.status >= 500 else "")
        return response.status, response.headers, response.text

    def login(self) -> None:
        for _attempt in range(5):
            try:
                _, _, page = self.request("login page", "GET", "/login")
                fields = hidden_fields(page, "/login", page="/login") or {}
                status, _, _ = self.request("login", "POST", "/login",
                                            {**fields, "email": self.email, "password": PASSWORD})
                if status in (302, 303):
                    return
            except Interrupted:
                continue
        raise RuntimeError(f"{self.email} could not log in")


class Run:
    """One soak run on one stack: the clients, the killer, the records and the audit."""

    def __init__(self, stack: Stack, seconds: float, clients: int, seed: int):
        self.stack = stack
        self.seconds = seconds
        self.n_clients = clients
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.server_errors: list[str] = []
        self.published: dict[str, str] = {}  # slug → marker word, acknowledged
        self.questions: list[tuple[str, str]] = []  # (case slug, marker), acknowledged
        self.registration: dict[str, tuple[str, bool]] = {}  # email → (last acknowledged action, unsure since)
        self.kills = {"web": 0, "search worker": 0}
        self.client_failures: list[str] = []
        self.stop_at = 0.0

    def record(self, kind: str, status: int | None, ms: float, detail: str) -> None:
        with self.lock:
            label = "interrupted" if status is None else str(status)
            self.statuses[kind][label] += 1
            if status is not None:
                self.times[kind].append(ms)
            if status is not None and status >= 500:
                self.server_errors.append(f"{kind} {status}: {detail}")

    # -- behaviours ---------------------------------------------------------------------------------------

    def guarded(self, behaviour, client: Client, rng: random.Random) -> None:
        """Run a client's behaviour; a client that cannot go on (not a request failure) is a failed run."""
        try:
            behaviour(client, rng)
        except Exception as exc:
            with self.lock:
                self.client_failures.append(f"{client.email or 'anonymous'}: {type(exc).__name__}: {exc}")

    def akim(self, client: Client, rng: random.Random) -> None:
        client.login()
        while time.monotonic() < self.stop_at:
            try:
                if rng.random() < 0.5:
                    self.publish(client, rng)
                else:
                    self.read(client, rng)
            except Interrupted:
                pass

    def publish(self, client: Client, rng: random.Random) -> None:
        marker = f"zqsoak{uuid.uuid4().hex[:10]}"
        _, _, page = client.request("case form", "GET", "/cases/new")
        fields = hidden_fields(page, "/cases/new", page="/cases/new")
        if fields is None:
            raise RuntimeError(f"no case form for {client.email}: {page[:300]}")
        data = {**fields, **self.stack.setup["case_form"], "title": f"{rng.choice(WORDS).capitalize()} {marker}",
                "save": "Save"}
        status, headers, page = client.request("save draft", "POST", "/cases/new", data)
        if status not in (302, 303):
            return
        slug = urllib.parse.urlsplit(headers["location"]).path.rsplit("/", 1)[-1]
        _, _, page = client.request("case page", "GET", f"/cases/{slug}")
        fields = hidden_fields(page, f"/cases/{slug}/publish")
        if fields is None:
            return
        status, _, _ = client.request("publish", "POST", f"/cases/{slug}/publish", fields)
        if status in (302, 303):
            with self.lock:
                self.published[slug] = marker

    def reader(self, client: Client, rng: random.Random) -> None:
        client.login()
        meeting = self.stack.setup["meeting_id"]
        while time.monotonic() < self.stop_at:
            try:
                roll = rng.random()
                if roll < 0.35:
                    _, _, page = client.request("meeting page", "GET", f"/meetings/{meeting}")
                    for action in ("register", "cancel"):
                        fields = hidden_fields(page, f"/meetings/{meeting}/{action}")
                        if fields is not None and (action == "cancel" or rng.random() < 0.8):
                            with self.lock:
                                last = self.registration.get(client.email, ("none", False))
                                self.registration[client.email] = (last[0], True)  # unsure until answered
                            status, _, _ = client.request(action, "POST", f"/meetings/{meeting}/{action}", fields)
                            if status in (302, 303):
                                with self.lock:
                                    self.registration[client.email] = (action, False)
                            break
                elif roll < 0.5:
                    self.ask(client, rng)
                else:
                    self.read(client, rng)
            except Interrupted:
                pass

    def ask(self, client: Client, rng: random.Random) -> None:
        slug = rng.choice(self.stack.setup["slugs"])
        _, _, page = client.request("case page", "GET", f"/cases/{slug}")
        fields = hidden_fields(page, f"/cases/{slug}/questions")
        if fields is None:
            return
        marker = f"zqask{uuid.uuid4().hex[:10]}"
        status, _, _ = client.request("question", "POST", f"/cases/{slug}/questions",
                                      {**fields, "question-body": f"How did you handle {marker} in winter?"})
        if status in (302, 303):
            with self.lock:
                self.questions.append((slug, marker))

    def searcher(self, client: Client, rng: random.Random) -> None:
        while time.monotonic() < self.stop_at:
            with contextlib.suppress(Interrupted):
                self.read(client, rng)

    def read(self, client: Client, rng: random.Random) -> None:
        roll = rng.random()
        words = rng.choice(WORDS)
        if roll < 0.35:
            client.request("search API", "GET", "/api/v1/search?" + urllib.parse.urlencode({"q": words}))
        elif roll < 0.6:
            client.request("search page", "GET", "/search?" + urllib.parse.urlencode({"q": words.split()[0]}))
        elif roll < 0.8:
            client.request("case page", "GET", f"/cases/{rng.choice(self.stack.setup['slugs'])}")
        elif roll < 0.9:
            client.request("case list", "GET", f"/cases/?page={rng.randint(1, 3)}")
        else:
            client.request("meetings", "GET", "/meetings")

    # -- the killer ---------------------------------------------------------------------------------------

    def killer(self) -> None:
        count = 0
        while time.monotonic() < self.stop_at - 5:
            time.sleep(self.rng.uniform(2, 5))
            workers = self.stack.web_workers()
            if workers:
                os.kill(self.rng.choice(workers), signal.SIGKILL)
                self.kills["web"] += 1
            count += 1
            if count % 4 == 0 and self.stack.worker.poll() is None:
                self.stack.worker.kill()
                self.stack.worker.wait()
                self.kills["search worker"] += 1
                time.sleep(1)  # systemd: Restart=always, RestartSec=1
                self.stack.start_worker()

    # -- the run ------------------------------------------------------------------------------------------

    def go(self) -> dict:
        accounts = self.stack.setup["accounts"]
        akims = [a for a in accounts if a["role"] == "akim"]
        readers = [a for a in accounts if a["role"] == "reader"]
        threads = []
        self.stop_at = time.monotonic() + self.seconds
        for i in range(self.n_clients):
            rng = random.Random(self.rng.random())
            if i % 3 == 0:
                target, client = self.akim, Client(self, akims[i // 3 % len(akims)]["email"])
            elif i % 3 == 1:
                target, client = self.reader, Client(self, readers[i // 3 % len(readers)]["email"])
            else:
                target, client = self.searcher, Client(self, None)
            threads.append(threading.Thread(target=self.guarded, args=(target, client, rng), daemon=True))
        killer = threading.Thread(target=self.killer, daemon=True)
        for thread in threads:
            thread.start()
        killer.start()
        for thread in threads:
            thread.join(timeout=self.seconds + 300)
        killer.join(timeout=60)
        return self.audit()

    def audit(self) -> dict:
        stack = self.stack
        if stack.worker.poll() is not None:
            stack.start_worker()
        probe = Client(self, None)
        deadline = time.monotonic() + 180
        health = {}
        while time.monotonic() < deadline:
            try:
                status, _, body = probe.request("healthz", "GET", "/healthz")
                health = json.loads(body)
                if status == 200 and health["outbox"]["pending"] == 0:
                    break
            except (Interrupted, ValueError):
                pass
            time.sleep(1)
        drained = health.get("outbox", {}).get("pending") == 0
        check = stack.flask("search", "check")
        not_found = []
        for slug, marker in self.published.items():
            _, _, body = probe.request("audit search", "GET", "/api/v1/search?" + urllib.parse.urlencode({"q": marker}))
            if [hit["id"] for hit in json.loads(body)["results"]] != [slug]:
                not_found.append(slug)
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "soak_audit.py")], cwd=ROOT,
                              input=json.dumps({"published": list(self.published), "questions": self.questions,
                                                "registration": {k: v[0] for k, v in self.registration.items()
                                                                 if not v[1]},
                                                "meeting_id": stack.setup["meeting_id"]}),
                              env=dict(stack.env, APP_ENV="development"), capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise SystemExit(f"audit failed:\n{done.stdout}\n{done.stderr}")
        rows = json.loads(done.stdout.strip().splitlines()[-1])
        stack.stop()
        logs = {name: (stack.work / name).read_text(errors="replace") for name in ("gunicorn.log", "search-worker.log")}
        lock_errors = {pattern: sum(text.count(pattern) for text in logs.values()) for pattern in LOCK_PATTERNS}
        kinds = {}
        for kind, values in sorted(self.times.items()):
            values = sorted(values)
            kinds[kind] = {"n": len(values), "p50": statistics.median(values) if values else None,
                           "p95": values[min(len(values) - 1, int(0.95 * len(values)))] if values else None,
                           "statuses": dict(self.statuses[kind])}
        for kind, counts in self.statuses.items():
            kinds.setdefault(kind, {"n": 0, "p50": None, "p95": None, "statuses": dict(counts)})
        checks = {
            "every client ran to the end": not self.client_failures,
            "no 5xx": not self.server_errors,
            "outbox drained": drained,
            "search check clean": check.returncode == 0,
            "every acknowledged publish is published and found": not rows["lost_publishes"] and not not_found,
            "every acknowledged question exists": not rows["lost_questions"],
            "registration states as acknowledged": not rows["registration_mismatches"],
            "counts equal rows": not rows["count_mismatches"],
            "no lock errors or tracebacks in the logs": not any(lock_errors.values()),
        }
        return {"backend": stack.backend, "seconds": self.seconds, "clients": self.n_clients, "kinds": kinds,
                "kills": self.kills, "published": len(self.published), "questions": len(self.questions),
                "registrations_checked": len([v for v in self.registration.values() if not v[1]]),
                "server_errors": self.server_errors[:20], "client_failures": self.client_failures[:20],
                "lock_errors": lock_errors, "not_found": not_found[:20],
                "rows": rows, "search_check": (check.stdout + check.stderr).strip()[-2000:], "checks": checks,
                "load": list(os.getloadavg())}


# --------------------------------------------------------------------------------------------------------------


def fmt(value) -> str:
    return "–" if value is None else f"{value:,.0f}"


def markdown(results: list[dict]) -> str:
    lines = []
    for r in results:
        lines.append(f"### {r['backend']}: {r['clients']} clients, {r['seconds']:.0f} s, "
                     f"{r['kills']['web']} gunicorn workers and {r['kills']['search worker']} search workers killed, "
                     f"load at the end {r['load'][0]:.1f}")
        lines.append("")
        lines.append("| request | n | p50 ms | p95 ms | statuses |")
        lines.append("|---|---|---|---|---|")
        for kind, k in r["kinds"].items():
            statuses = ", ".join(f"{s}: {n}" for s, n in sorted(k["statuses"].items()))
            lines.append(f"| {kind} | {k['n']} | {fmt(k['p50'])} | {fmt(k['p95'])} | {statuses} |")
        lines.append("")
        lines.append(f"Acknowledged: {r['published']} publishes, {r['questions']} questions, "
                     f"{r['registrations_checked']} registration states; rows: {json.dumps(r['rows']['counts'])}.")
        lines.append("")
        for name, ok in r["checks"].items():
            lines.append(f"- {'PASS' if ok else 'FAIL'}: {name}")
        if r["client_failures"]:
            lines.append(f"- clients that stopped: {r['client_failures'][:5]}")
        if r["server_errors"]:
            lines.append(f"- 5xx: {r['server_errors'][:5]}")
        if any(r["lock_errors"].values()):
            lines.append(f"- log lines: {r['lock_errors']}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--workdir", default="/tmp/soak")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    workdir = Path(args.workdir)
    results = []
    for backend in args.databases.split(","):
        stack = Stack(backend, workdir)
        try:
            print(f"[{backend}] preparing ...", flush=True)
            stack.prepare(args.clients)
            stack.start_web()
            stack.start_worker()
            print(f"[{backend}] {args.clients} clients for {args.seconds:.0f} s, killing workers ...", flush=True)
            results.append(Run(stack, args.seconds, args.clients, args.seed).go())
        finally:
            stack.stop()
            stack.drop()
        print(markdown(results[-1:]), flush=True)
    (workdir / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    (workdir / "results.md").write_text(markdown(results), encoding="utf-8")
    failed = [f"{r['backend']}: {name}" for r in results for name, ok in r["checks"].items() if not ok]
    print("FAILED: " + "; ".join(failed) if failed else "All checks passed.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
