"""Production as an operator runs it: the README's runbook commands and the units in deploy/, in subprocesses.

PostgreSQL (a schema of its own) and Redis, ``APP_ENV=production`` read from an environment file written from
``deploy/exchange.env.example``, gunicorn started by the ``ExecStart`` of ``deploy/systemd/akims-exchange-web.service``
(4 workers, ``deploy/gunicorn.conf.py``) and the search worker by its unit's. Requests come as nginx forwards them
(``X-Forwarded-For/-Proto``, ``TRUSTED_PROXIES=1``). Checked: HSTS and cookie flags, trusted hosts, reset links
from ``BASE_URL``, failed logins counted once across all workers (Redis) and an owner not locked out, the worker
applying updates, the health check, the daily jobs, and a clean stop.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from tests.conftest import new_pg_schema
from tests.conftest import skip_or_fail

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
INSTALL_DIR = "/srv/akims-exchange"  # where the units expect the checkout
ENV_FILE = "/etc/akims-exchange/exchange.env"
HOST = "exchange.example.kz"
ADMIN_EMAIL = "admin@exchange.example.kz"
ADMIN_PASSWORD = "steppe caravan lantern 1987"
README = (REPO / "README.md").read_text(encoding="utf-8")

pytestmark = pytest.mark.postgres_only


# --- the files in deploy/, read as systemd and the shell read them ------------------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines as systemd's EnvironmentFile reads them (comments and blank lines skipped)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _sep, value = line.partition("=")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            values[key.strip()] = value
    return values


def unit(name: str) -> dict[str, dict[str, str]]:
    """The sections and keys of a unit file in deploy/systemd/ (last value wins, as for ExecStart here)."""
    sections: dict[str, dict[str, str]] = {}
    current = None
    for line in (DEPLOY / "systemd" / name).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
        else:
            key, _sep, value = line.partition("=")
            current[key.strip()] = value.strip()
    return sections


def exec_start(name: str) -> tuple[list[str], Path]:
    """The unit's ExecStart as argv, and its WorkingDirectory, with the install folder mapped to this checkout."""
    service = unit(name)["Service"]
    assert service["EnvironmentFile"] == ENV_FILE
    assert service["WorkingDirectory"] == INSTALL_DIR
    argv = [arg.replace(INSTALL_DIR, str(REPO)) for arg in shlex.split(service["ExecStart"])]
    return argv, REPO


def runbook_commands() -> list[str]:
    """The command lines of the README's production runbook (code blocks of the "Production" section)."""
    section = README.split("## Production", 1)[1].split("\n## ", 1)[0]
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.splitlines():
            line = re.split(r"\s+#\s", line, maxsplit=1)[0].strip()
            if line.startswith(".venv/bin/"):
                lines.append(line)
    return lines


# --- the running instance ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_unavailable() -> str | None:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            if not sock.recv(64).startswith(b"+PONG"):
                return "Redis at 127.0.0.1:6379 did not answer PING"
    except OSError as exc:
        return f"Redis not reachable at 127.0.0.1:6379: {type(exc).__name__}"
    return None


class Instance:
    """One production instance: its environment, and the commands and services run in it."""

    def __init__(self, tmp_path: Path, database_url: str):
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.tmp = tmp_path
        self.database_url = database_url
        self.port = free_port()
        settings = read_env_file(DEPLOY / "exchange.env.example")
        data = tmp_path / "var"
        settings.update(
            SECRET_KEY=secrets.token_urlsafe(48),
            DATABASE_URL=database_url,
            BASE_URL=f"https://{HOST}",
            RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",  # the machine's Redis is shared
            GUNICORN_BIND=f"127.0.0.1:{self.port}",
            SEARCH_INDEX_DIR=str(data / "search_index"),
            UPLOAD_DIR=str(data / "uploads"),
            INSTANCE_DIR=str(data / "instance"),
            MAIL_OUTBOX_DIR=str(data / "outbox"),
            MAIL_SERVER="",  # no SMTP here: mails go to MAIL_OUTBOX_DIR
            BACKUP_DIR=str(tmp_path / "backups"),
        )
        self.env_file = tmp_path / "exchange.env"
        self.env_file.write_text("".join(f'{k}="{v}"\n' if " " in v else f"{k}={v}\n" for k, v in settings.items()),
                                 encoding="utf-8")
        # A minimal system environment, then the file's settings (as systemd gives them to a unit's process).
        self.system_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": str(tmp_path)}
        self.env = {**self.system_env, **read_env_file(self.env_file)}
        self.processes: list[subprocess.Popen] = []
        self.logs: dict[str, Path] = {}

    def run(self, command: str, *, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """Run a runbook command line from the checkout in a shell that loaded the environment file as the
        runbook says (``set -a; . FILE; set +a``)."""
        script = f"set -a; . {shlex.quote(str(self.env_file))}; set +a; {command}"
        result = subprocess.run(["sh", "-c", script], cwd=REPO, env=self.system_env, input=input,
                                capture_output=True, text=True, timeout=300)
        if check:
            assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        return result

    def start(self, unit_name: str) -> subprocess.Popen:
        """Start a service unit's ExecStart in its WorkingDirectory with the environment file's settings."""
        argv, cwd = exec_start(unit_name)
        log = self.tmp / f"{unit_name}.log"
        self.logs[unit_name] = log
        with open(log, "wb") as out:
            process = subprocess.Popen(argv, cwd=cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.processes.append(process)
        return process

    def wait_until_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/healthz")[0] in (200, 503):
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("gunicorn did not answer in time:\n" + self.log_text("akims-exchange-web.service"))

    def log_text(self, unit_name: str) -> str:
        return self.logs[unit_name].read_text(encoding="utf-8", errors="replace")

    def request(self, method: str, path: str, *, body: dict | None = None, cookies: str = "",
                client: str = "203.0.113.20", host: str = HOST, proto: str = "https"):
        """One request as nginx forwards it; returns (status, headers as a list of pairs, body text)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Host": host, "X-Forwarded-For": client, "X-Forwarded-Proto": proto,
                   "X-Forwarded-Host": host, "Accept-Language": "en"}
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            # As a browser sends it (Referrer-Policy strict-origin-when-cross-origin); Flask-WTF checks it over TLS.
            headers["Referer"] = f"{proto}://{host}{path}"
        if cookies:
            headers["Cookie"] = cookies
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read().decode("utf-8", "replace")
        finally:
            connection.close()

    def form(self, path: str, client: str) -> tuple[str, str]:
        """GET a form page: (its CSRF token, the cookies to send back)."""
        status, headers, page = self.request("GET", path, client=client)
        assert status == 200, page[:500]
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        cookies = "; ".join(v.split(";", 1)[0] for k, v in headers if k.lower() == "set-cookie")
        return token, cookies

    def login(self, email: str, password: str, client: str) -> tuple[int, list, str]:
        token, cookies = self.form("/login", client)
        return self.request("POST", "/login", body={"csrf_token": token, "email": email, "password": password},
                            cookies=cookies, client=client)

    def stop(self) -> list[int]:
        codes = []
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            try:
                codes.append(process.wait(timeout=40))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                codes.append(process.wait())
        self.processes.clear()
        return codes


@pytest.fixture
def empty_pg_database():
    """A factory of empty PostgreSQL databases (a schema each, dropped afterwards); returns the URL."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(new_pg_schema("p"))


def require_redis() -> None:
    skip_or_fail(redis_unavailable(), "Redis")


@pytest.fixture
def instance(tmp_path, empty_pg_database):
    require_redis()
    running = Instance(tmp_path / "server", empty_pg_database())
    yield running
    running.stop()


def row_counts(database_url: str) -> dict[str, int]:
    """Rows per table of a database (the search outbox aside: a backup leaves it out)."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            names = [n for n in sa.inspect(conn).get_table_names() if n not in {"search_outbox", "alembic_version"}]
            return {n: conn.execute(sa.text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in sorted(names)}
    finally:
        engine.dispose()


NGINX = next((p for p in ("/usr/sbin/nginx", "/usr/bin/nginx") if Path(p).exists()), None)


def start_nginx(instance: Instance, tmp_path: Path) -> tuple[int, int]:
    """Run deploy/nginx/akims-exchange.conf in front of the instance's gunicorn with a self-signed certificate.

    Changed for the test only: ports (free ones instead of 80/443), the certificate paths, the checkout path and
    the upstream port; the IPv6 listeners are dropped (the sandbox may have no IPv6). Everything else is the file.
    Returns (https port, http port).
    """
    folder = tmp_path / "nginx"
    (folder / "logs").mkdir(parents=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={HOST}",
                    "-addext", f"subjectAltName=DNS:{HOST}", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem")], check=True, capture_output=True)
    https_port, http_port = free_port(), free_port()
    site = (DEPLOY / "nginx" / "akims-exchange.conf").read_text(encoding="utf-8")
    site = "\n".join(line for line in site.splitlines() if "listen [::]" not in line)
    replacements = (
        (f"/etc/letsencrypt/live/{HOST}/fullchain.pem", str(folder / "cert.pem")),
        (f"/etc/letsencrypt/live/{HOST}/privkey.pem", str(folder / "key.pem")),
        (INSTALL_DIR, str(REPO)),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{instance.port};"),
        ("listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
    )
    for old, new in replacements:
        assert old in site, f"deploy/nginx/akims-exchange.conf no longer contains {old!r}"
        site = site.replace(old, new)
    (folder / "site.conf").write_text(site, encoding="utf-8")
    (folder / "nginx.conf").write_text(
        f"pid {folder}/nginx.pid;\nerror_log {folder}/logs/error.log;\nevents {{}}\n"
        f"http {{\n include /etc/nginx/mime.types;\n access_log {folder}/logs/access.log;\n"
        f" client_body_temp_path {folder}/body; proxy_temp_path {folder}/proxy;\n"
        f" fastcgi_temp_path {folder}/fastcgi; uwsgi_temp_path {folder}/uwsgi; scgi_temp_path {folder}/scgi;\n"
        f" include {folder}/site.conf;\n}}\n", encoding="utf-8")
    checked = subprocess.run([NGINX, "-t", "-p", str(folder), "-c", str(folder / "nginx.conf")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    instance.processes.append(process)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
            return https_port, http_port
        except OSError:
            time.sleep(0.1)
    raise AssertionError((folder / "logs" / "error.log").read_text())


def tls_request(port: int, cafile: Path, method: str, path: str, headers: dict | None = None, body: str | None = None):
    """One request to nginx over TLS, as a browser makes it; returns (status, headers, body)."""
    context = ssl.create_default_context(cafile=str(cafile))
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
    try:
        # Connect to 127.0.0.1 but verify the certificate for HOST, as a browser resolving HOST would.
        connection.sock = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30),
                                              server_hostname=HOST)
        connection.request(method, path, body=body, headers={"Host": HOST, "Accept-Language": "en", **(headers or {})})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def check_behind_nginx(instance: Instance, tmp_path: Path) -> None:
    """The sample nginx site in front of gunicorn: TLS, HTTP→HTTPS, forwarded headers, request ids, static files."""
    # Last in its test: on a laptop without nginx, everything before it has run and the test says "skipped".
    skip_or_fail(None if NGINX else "nginx not found (`make test` installs Debian's nginx as root)", "nginx")
    https_port, http_port = start_nginx(instance, tmp_path)
    cafile = tmp_path / "nginx" / "cert.pem"
    connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
    connection.request("GET", "/login", headers={"Host": HOST})
    redirect = connection.getresponse()
    assert redirect.status == 301 and redirect.getheader("Location") == f"https://{HOST}/login"
    connection.close()

    status, headers, page = tls_request(https_port, cafile, "GET", "/login")
    assert status == 200
    header = dict(headers)
    assert "max-age=31536000" in header["Strict-Transport-Security"]
    assert re.fullmatch(r"[0-9a-f]{32}", header["X-Request-ID"]), "nginx's $request_id comes back"
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    cookies = "; ".join(v.split(";", 1)[0] for k, v in headers if k.lower() == "set-cookie")
    # A client's own X-Forwarded-For is overwritten by nginx: the app sees the real address (127.0.0.1 here).
    form = urlencode({"csrf_token": token, "email": "reader@exchange.example.kz", "password": "not the password"})
    status, headers, page = tls_request(https_port, cafile, "POST", "/login", body=form, headers={
        "Cookie": cookies, "Content-Type": "application/x-www-form-urlencoded",
        "Referer": f"https://{HOST}:{https_port}/login", "X-Forwarded-For": "10.9.8.7"})  # a browser's referrer
    assert status == 200 and "The e-mail or password is not correct." in page  # CSRF and referrer checks passed
    request_id = dict(headers)["X-Request-ID"]
    log_line = next(line for line in instance.log_text("akims-exchange-web.service").splitlines()
                    if f"[{request_id}]" in line and "POST /login" in line)
    assert log_line.endswith(" 127.0.0.1") and "10.9.8.7" not in log_line, log_line
    # Static files are nginx's.
    status, headers, _body = tls_request(https_port, cafile, "GET", "/static/css/app.css")
    assert status == 200 and "Expires" in dict(headers)
    # Long addresses: up to nginx's buffer they reach the app (JSON under /api/); beyond it nginx answers 414 in
    # the API's error shape, never gunicorn's HTML 414.
    status, headers, body = tls_request(https_port, cafile, "GET", "/api/v1/search?q=" + "a" * 7500)
    assert status < 500 and dict(headers)["Content-Type"].startswith("application/json"), (status, body[:300])
    for path in ("/api/v1/search?q=" + "a" * 9000, "/cases/?q=" + "b" * 20000):
        status, headers, body = tls_request(https_port, cafile, "GET", path)
        assert status == 414 and dict(headers)["Content-Type"].startswith("application/json"), (status, body[:300])
        assert json.loads(body)["error"]["code"] == "uri_too_long"


def set_cookies(headers) -> list[str]:
    return [v for k, v in headers if k.lower() == "set-cookie"]


def here(line: str, instance: Instance) -> str:
    """A runbook line with the production folders mapped to the test's."""
    return line.replace("/var/backups/akims-exchange", instance.env["BACKUP_DIR"])


def test_the_runbook_gives_a_working_production_service(instance, tmp_path, empty_pg_database):
    # Install, configure, migrate, first administrator, data, index: the runbook's commands, as written.
    commands = runbook_commands()
    for needed in (".venv/bin/flask --app wsgi db upgrade", ".venv/bin/flask --app wsgi users create-admin",
                   ".venv/bin/flask --app wsgi cases import cases.jsonl", ".venv/bin/flask --app wsgi search reindex",
                   ".venv/bin/flask --app wsgi search check",
                   ".venv/bin/flask --app wsgi backup /var/backups/akims-exchange/before-upgrade.tar.gz",
                   ".venv/bin/flask --app wsgi restore /var/backups/akims-exchange/before-upgrade.tar.gz"):
        assert needed in commands, f"the README's runbook no longer says {needed!r}"
    instance.run(".venv/bin/flask --app wsgi db upgrade")
    instance.run(".venv/bin/flask --app wsgi db upgrade")  # an upgrade with nothing to do changes nothing
    created = instance.run(".venv/bin/flask --app wsgi users create-admin",
                           input=f"{ADMIN_EMAIL}\nAdmin of the Exchange\n{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n")
    assert f"Administrator {ADMIN_EMAIL} created." in created.stdout
    demo = (REPO / "app/case_studies/demo/case_studies.jsonl").read_text(encoding="utf-8").splitlines()
    cases_file = tmp_path / "cases.jsonl"
    cases_file.write_text("\n".join(demo[:-1]) + "\n", encoding="utf-8")
    imported = instance.run(f".venv/bin/flask --app wsgi cases import {cases_file}")
    assert "Created: 31," in imported.stdout, imported.stdout
    instance.run(".venv/bin/flask --app wsgi search reindex")
    instance.run(".venv/bin/flask --app wsgi search check")

    # Start: gunicorn (4 workers) and the search worker, by their units.
    assert unit("akims-exchange-web.service")["Service"]["Restart"] == "on-failure"
    assert unit("akims-exchange-search-worker.service")["Service"]["Restart"] == "always"
    instance.start("akims-exchange-web.service")
    instance.start("akims-exchange-search-worker.service")
    instance.wait_until_serving()

    status, headers, body = instance.request("GET", "/healthz")
    assert status == 200, body
    health = json.loads(body)
    assert health["status"] == "ok" and health["search_index"]["documents"] == 31

    # HSTS and cookie flags, over the proxy's TLS.
    status, headers, _page = instance.request("GET", "/login")
    assert status == 200
    assert "max-age=31536000" in dict(headers)["Strict-Transport-Security"]
    session_cookie = next(c for c in set_cookies(headers) if c.startswith("session="))
    for flag in ("Secure", "HttpOnly", "SameSite=Lax"):
        assert flag in session_cookie, session_cookie

    # A forged Host header is refused before anything is built from it.
    assert instance.request("GET", "/login", host="evil.example")[0] == 400
    token, cookies = instance.form("/password/forgot", client="203.0.113.30")
    refused = instance.request("POST", "/password/forgot", body={"csrf_token": token, "email": ADMIN_EMAIL},
                               cookies=cookies, client="203.0.113.30", host="evil.example")
    assert refused[0] == 400
    sent = instance.request("POST", "/password/forgot", body={"csrf_token": token, "email": ADMIN_EMAIL},
                            cookies=cookies, client="203.0.113.30")
    assert sent[0] in (200, 302)
    mails = sorted(Path(instance.env["MAIL_OUTBOX_DIR"]).glob("*.eml"))
    assert len(mails) == 1, "one reset mail, for the request with the trusted host"
    text = message_from_bytes(mails[0].read_bytes(), policy=email_policy.default).get_body(("plain",)).get_content()
    links = re.findall(r"https?://\S+", text)
    assert links and all(link.startswith(f"https://{HOST}/") for link in links), links
    assert "evil.example" not in text

    # Failed logins for one account from one address are counted once across the 4 workers (Redis):
    # ten are answered, the eleventh is refused (per process, memory:// would have allowed 40).
    guesser = "198.51.100.7"
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda n: instance.login(ADMIN_EMAIL, f"wrong guess {n}", guesser)[0], range(10)))
    assert statuses == [200] * 10
    assert instance.login(ADMIN_EMAIL, "wrong guess 11", guesser)[0] == 429
    assert instance.login(ADMIN_EMAIL, ADMIN_PASSWORD, guesser)[0] == 429
    # The owner, from another address, is not locked out.
    status, headers, _body = instance.login(ADMIN_EMAIL, ADMIN_PASSWORD, "192.0.2.10")
    assert status == 302 and dict(headers)["Location"] == "/"

    # The worker applies what a process left pending (here the CLI, told not to apply): the last demo case appears.
    last = tmp_path / "last.jsonl"
    last.write_text(demo[-1] + "\n", encoding="utf-8")
    instance.run(f"SEARCH_APPLY_IN_REQUEST=false .venv/bin/flask --app wsgi cases import {last}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        health = json.loads(instance.request("GET", "/healthz")[2])
        if health["search_index"]["documents"] == 32 and health["outbox"]["pending"] == 0:
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"the worker did not apply the import: {health}\n"
                             + instance.log_text("akims-exchange-search-worker.service"))
    instance.run(".venv/bin/flask --app wsgi search check")

    # The daily jobs, by their units' commands.
    for job in ("akims-exchange-digest.service", "akims-exchange-reminders.service",
                "akims-exchange-commitment-reminders.service"):
        argv, cwd = exec_start(job)
        done = subprocess.run(argv, cwd=cwd, env=instance.env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{job}: {done.stdout}\n{done.stderr}"

    # Back up: the nightly unit's script, and by hand (step 6).
    argv, cwd = exec_start("akims-exchange-backup.service")
    nightly = subprocess.run(argv, cwd=cwd, env=instance.env, capture_output=True, text=True, timeout=300)
    assert nightly.returncode == 0, nightly.stdout + nightly.stderr
    assert len(list(Path(instance.env["BACKUP_DIR"]).glob("akims-exchange-*.tar.gz"))) == 1
    instance.run(here(".venv/bin/flask --app wsgi backup /var/backups/akims-exchange/before-upgrade.tar.gz", instance))

    # Restore on a new server: an empty database, its own folders; then everything is there and findable.
    replacement = Instance(tmp_path / "replacement", empty_pg_database())
    replacement.env["BACKUP_DIR"] = instance.env["BACKUP_DIR"]
    replacement.run(here(".venv/bin/flask --app wsgi restore /var/backups/akims-exchange/before-upgrade.tar.gz",
                         replacement))
    replacement.run(".venv/bin/flask --app wsgi search check")
    assert row_counts(replacement.database_url) == row_counts(instance.database_url)

    # The same through the sample nginx site, over real TLS.
    check_behind_nginx(instance, tmp_path)

    # A clean stop; the logs have timestamps and request ids.
    web_code, worker_code, *_nginx = instance.stop()
    assert web_code == 0  # gunicorn stops its workers gracefully on SIGTERM
    assert worker_code in (0, -signal.SIGTERM)  # the worker ends on the signal, as systemd stops it
    web_log = instance.log_text("akims-exchange-web.service")
    assert "Booting worker" in web_log and web_log.count("Booting worker") >= 4
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO \[[0-9a-f]{32}\] app\.requests: GET /healthz 200 ",
                     web_log, re.M), web_log[-2000:]
    worker_log = instance.log_text("akims-exchange-search-worker.service")
    stamp = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 "
    assert re.search(stamp + r"search worker started", worker_log, re.M), worker_log
    assert re.search(stamp + r"Applied 1 index update\(s\)\.", worker_log, re.M), worker_log


def test_the_units_verify(tmp_path):
    """``systemd-analyze verify`` on the units, with the install folder and environment file mapped here."""
    skip_or_fail(None if shutil.which("systemd-analyze") else "systemd-analyze not found", "systemd-analyze")
    units = tmp_path / "units"
    units.mkdir()
    for path in sorted((DEPLOY / "systemd").iterdir()):
        text = path.read_text(encoding="utf-8").replace(INSTALL_DIR, str(REPO))
        text = text.replace(ENV_FILE, str(DEPLOY / "exchange.env.example"))
        text = text.replace("User=akims", "User=root").replace("Group=akims", "Group=root")
        (units / path.name).write_text(text, encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in units.iterdir())],
                            capture_output=True, text=True)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    timers = sorted(p.name for p in units.iterdir() if p.suffix == ".timer")
    assert timers == ["akims-exchange-backup.timer", "akims-exchange-commitment-reminders.timer",
                      "akims-exchange-digest.timer", "akims-exchange-reminders.timer"]
    for timer in timers:
        calendar = unit(timer)["Timer"]["OnCalendar"]
        assert subprocess.run(["systemd-analyze", "calendar", calendar], capture_output=True).returncode == 0
        assert (units / timer.replace(".timer", ".service")).exists()


def test_the_environment_example_names_only_real_settings():
    """Every key of deploy/exchange.env.example is read by config.py, gunicorn's config or the backup script."""
    import config

    known = set(dir(config.Config)) | {"APP_ENV", "DATABASE_URL", "INSTANCE_DIR"}
    readers = (DEPLOY / "gunicorn.conf.py").read_text() + (DEPLOY / "backup-nightly.sh").read_text()
    config_source = (REPO / "config.py").read_text()
    for key in read_env_file(DEPLOY / "exchange.env.example"):
        assert key in known or key in readers or f'"{key}"' in config_source, key


def test_moving_an_embedded_instance_to_postgresql(tmp_path, empty_pg_database):
    """Step 7: an instance that ran as ``make run`` runs it (SQLite, uploads in instance/) moves to PostgreSQL."""
    require_redis()
    commands = runbook_commands()
    for needed in (".venv/bin/flask --app wsgi backup move.tar.gz", ".venv/bin/flask --app wsgi restore move.tar.gz"):
        assert needed in commands, f"the README's runbook no longer says {needed!r}"
    archive = tmp_path / "move.tar.gz"
    # The old instance: development defaults, relocated from the checkout's instance/ and search_index/ only.
    old = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": str(tmp_path),
           "INSTANCE_DIR": str(tmp_path / "old" / "instance"), "SEARCH_INDEX_DIR": str(tmp_path / "old" / "index")}
    for command in (".venv/bin/flask --app wsgi db upgrade", ".venv/bin/flask --app wsgi seed-demo",
                    f".venv/bin/flask --app wsgi backup {archive}"):
        done = subprocess.run(shlex.split(command), cwd=REPO, env=old, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    sqlite_url = f"sqlite:///{tmp_path / 'old' / 'instance' / 'exchange.sqlite3'}"

    new = Instance(tmp_path / "server", empty_pg_database())
    new.run(f".venv/bin/flask --app wsgi restore {archive}")
    new.run(".venv/bin/flask --app wsgi search check")
    assert row_counts(new.database_url) == row_counts(sqlite_url)
    # The moved instance serves: the demo accounts log in, the published cases are in the index.
    new.start("akims-exchange-web.service")
    try:
        new.wait_until_serving()
        health = json.loads(new.request("GET", "/healthz")[2])
        assert health["status"] == "ok" and health["search_index"]["documents"] == 32
        status, headers, _page = new.login("admin@demo.example.kz", "steppe-exchange-2026", "192.0.2.60")
        assert status == 302 and dict(headers)["Location"] == "/"
    finally:
        new.stop()
