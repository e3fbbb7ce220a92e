"""``flask search reindex|check|worker`` (CONTRACTS.md §4). Output is plain English."""

from __future__ import annotations

import os
import time
from datetime import UTC
from datetime import datetime

import click
import sqlalchemy as sa
from flask import Flask
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.search.index import IndexUnavailable
from app.search.models import SearchOutbox

search_cli = AppGroup("search", help="Maintain the full-text search index.")


MAX_BACKOFF = 30.0  # seconds between retries of a worker that keeps failing


def _search():
    return current_app.extensions["search"]


def _log(message: str) -> None:
    """One line of the worker's output, with a UTC timestamp (it runs for weeks under systemd)."""
    click.echo(f"{datetime.now(UTC).isoformat(timespec='seconds')} {message}")


@search_cli.command("reindex")
def reindex_command() -> None:
    """Rebuild the index from the database in a new directory, then switch to it atomically."""
    count = _search().reindex()
    click.echo(f"Indexed {count} published case studies.")


@search_cli.command("check")
def check_command() -> None:
    """Compare (id, updated_at) of the index and the database; exit 1 on any difference."""
    problems = _search().check()
    if problems:
        for line in problems:
            click.echo(line)
        click.echo(f"{len(problems)} difference(s). Run `flask search reindex` to repair.")
        raise SystemExit(1)
    click.echo("The search index agrees with the database.")


@search_cli.command("worker")
@click.option("--once", is_flag=True, help="Apply what is pending, then exit.")
@click.option("--idle-sleep", default=0.5, show_default=True, help="Seconds to wait when nothing is pending.")
def worker_command(once: bool, idle_sleep: float) -> None:
    """Apply pending index updates from the outbox, continuously (or once); merge small segments when idle."""
    search = _search()
    if not once:
        _log(f"search worker started (pid {os.getpid()}, index {search.root})")
    failures = 0
    while True:
        try:
            # The idle poll only reads (no write lock on SQLite); applying takes the locks when there is work.
            # Without an index both raise IndexUnavailable: logged and retried below until `search reindex`.
            count = search.apply_pending() if _pending() else 0
            # Nothing pending: merge the small segments updates left behind (searches read every segment).
            merged = 0 if count else search.merge_segments()
        except (IndexUnavailable, sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            db.session.rollback()
            if once:
                _log(f"stopped: {exc}")
                raise click.ClickException(str(exc)) from exc
            # A transient problem (the database locked, restarting or unreachable; the index being rebuilt or
            # missing): say so and try again later, more slowly each time, instead of dying unsupervised.
            failures += 1
            wait = min(MAX_BACKOFF, idle_sleep * 2 ** min(failures, 10))
            _log(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}; retrying in {wait:.1f} s")
            time.sleep(wait)
            continue
        failures = 0
        if count:
            _log(f"Applied {count} index update(s).")
            continue
        if merged:
            _log(f"Merged {merged} small index segments into one.")
        if once:
            return
        time.sleep(idle_sleep)


def _pending() -> bool:
    """Whether any outbox row waits, read in a deferred (read-only) transaction of its own."""
    with db.engine.connect().execution_options(sqlite_begin="DEFERRED") as connection:
        row = connection.execute(sa.select(SearchOutbox.id).where(SearchOutbox.done_at.is_(None)).limit(1)).first()
    return row is not None


def init_app(app: Flask) -> None:
    """Register the ``search`` command group."""
    app.cli.add_command(search_cli)
