"""A minimal browser over HTTP for tests and ``make soak`` that talk to a real server (gunicorn): one
connection, cookies, and the hidden inputs (CSRF and one-time tokens) of the forms on a page."""

from __future__ import annotations

import http.client
import time
import urllib.parse
from dataclasses import dataclass
from html.parser import HTMLParser


class Interrupted(Exception):
    """The connection was cut off (the worker serving it was killed): the request's outcome is unknown."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    text: str
    ms: float  # from sending the request to the last byte of the body


class _Forms(HTMLParser):
    """The forms of a page: (action, {name: value} of their hidden inputs)."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append((a.get("action") or "", {}))
        elif tag == "input" and self.forms and a.get("type") == "hidden" and a.get("name"):
            self.forms[-1][1][a["name"]] = a.get("value") or ""


def hidden_fields(html: str, action: str, page: str | None = None) -> dict[str, str] | None:
    """The hidden inputs of the form that posts to ``action`` (a form without an action posts to its ``page``);
    None when the page has no such form."""
    parser = _Forms()
    parser.feed(html)
    for form_action, fields in parser.forms:
        if (urllib.parse.urlsplit(form_action).path or page) == action:
            return dict(fields)
    return None


class Browser:
    """One visitor of ``http://127.0.0.1:<port>``: keeps its cookies and its connection."""

    def __init__(self, port: int, language: str = "ru", timeout: float = 90):
        self.port = port
        self.language = language
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self._conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, data: dict | None = None) -> Response:
        """Send one request (``data``: a form post); :raise Interrupted: the connection was cut off."""
        body = urllib.parse.urlencode(data, doseq=True) if data is not None else None
        headers = {"Accept-Language": self.language, "Host": f"127.0.0.1:{self.port}"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        try:
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self._conn.request(method, path, body=body, headers=headers)
            response = self._conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (http.client.HTTPException, OSError) as exc:
            self.close()
            raise Interrupted(f"{type(exc).__name__}: {exc}") from exc
        ms = (time.perf_counter() - started) * 1000
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        if (response.getheader("Connection") or "").lower() == "close":
            self.close()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, text, ms)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def submit(self, page: str, action: str, data: dict) -> Response:
        """Open ``page``, then post ``data`` with the hidden inputs of its form posting to ``action``.

        :raise LookupError: the page has no such form.
        """
        fields = hidden_fields(self.get(page).text, action, page=page)
        if fields is None:
            raise LookupError(f"no form posting to {action} on {page}")
        return self.request("POST", action, {**fields, **data})

    def login(self, email: str, password: str) -> Response:
        return self.submit("/login", "/login", {"email": email, "password": password})

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
