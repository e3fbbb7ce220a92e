"""``flask search reindex|check|worker`` (CONTRACTS.md §4). Output is plain English."""

from __future__ import annotations

import os
import time
from datetime import UTC
from datetime import datetime

import click
from flask import Flask
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.search.index import IndexUnavailable

search_cli = AppGroup("search", help="Maintain the full-text search index.")


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
    while True:
        try:
            count = search.apply_pending()
            # Nothing pending: merge the small segments updates left behind (searches read every segment).
            merged = 0 if count else search.merge_segments()
        except IndexUnavailable as exc:
            db.session.rollback()
            _log(f"stopped: {exc}")
            raise click.ClickException(str(exc)) from exc
        if count:
            _log(f"Applied {count} index update(s).")
            continue
        if merged:
            _log(f"Merged {merged} small index segments into one.")
        if once:
            return
        time.sleep(idle_sleep)


def init_app(app: Flask) -> None:
    """Register the ``search`` command group."""
    app.cli.add_command(search_cli)
