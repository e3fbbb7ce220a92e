"""Engine set-up: SQLite pragmas, transaction begin mode and how JSON columns are written.

SQLite runs in WAL mode with a busy timeout, and a transaction that may write takes the write lock at
``BEGIN IMMEDIATE`` (SQLAlchemy's documented recipe for pysqlite,
https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl).
A deferred transaction that later tries to write fails at once with "database is locked" when another
connection wrote in between -- the busy timeout does not help there -- so every transaction outside a
safe (GET/HEAD/OPTIONS) request begins IMMEDIATE. Reads stay DEFERRED so they never queue behind writers.

JSON columns (revisions, audit details) are written as UTF-8 without ``\\uXXXX`` escapes or padding
(:func:`dump_json`): a Cyrillic letter takes 2 bytes instead of 6, which is most of a Kazakh or Russian case
study's revision. Both dialects read it back with the standard decoder; PostgreSQL's ``json`` type keeps the text
as given.
"""

from __future__ import annotations

import functools
import json

from flask import Flask
from flask import has_request_context
from flask import request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

dump_json = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))
"""How every JSON column value is serialised: compact UTF-8 (the engine's ``json_serializer``)."""


def set_engine_options(app: Flask) -> None:
    """Add this app's defaults to ``SQLALCHEMY_ENGINE_OPTIONS`` before the engine is made (explicit ones win).

    A copy is stored, so the class-level dict of :class:`config.Config` is never changed.
    """
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        "json_serializer": dump_json,
        **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
    }


def _begin_mode(connection) -> str:
    """Return the SQLite BEGIN statement for the current context.

    A connection with the execution option ``sqlite_begin="DEFERRED"`` (read-only work outside a
    request, such as checks and reports) never takes the write lock up front.
    """
    if connection.get_execution_options().get("sqlite_begin") == "DEFERRED":
        return "BEGIN"
    if has_request_context() and request.method in SAFE_METHODS:
        return "BEGIN"
    return "BEGIN IMMEDIATE"


def configure_engine(app: Flask) -> None:
    """Attach dialect-specific connection set-up to the app's engine."""
    with app.app_context():
        engine: Engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    busy_timeout = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    in_memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        # Hand transaction control to SQLAlchemy (pysqlite's own BEGIN handling is broken).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # every statement is its own transaction
        connection.exec_driver_sql(_begin_mode(connection))
