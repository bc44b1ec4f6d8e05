"""Database engine and the per-request session, plus commit hooks for work after a commit."""

from __future__ import annotations

import json
from collections.abc import Callable

from flask import Flask, current_app, g
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_S = 30


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, a busy timeout and serialised writers (see
    _begin_immediate), Postgres a health check."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            json_serializer=compact_json,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    return create_engine(
        url, json_serializer=compact_json, pool_pre_ping=True, pool_size=5, max_overflow=10
    )


def compact_json(value) -> str:
    """JSON as stored: no spaces, and characters as themselves. The default escaped each emoji
    into 12 bytes (two \\uXXXX surrogates) and padded every separator."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # pysqlite's own transaction handling would BEGIN (DEFERRED) lazily before writes; turned off
    # here so that _begin_immediate emits every BEGIN (SQLAlchemy's documented pysqlite recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _begin_immediate(connection) -> None:
    # SQLite ignores SELECT ... FOR UPDATE. BEGIN IMMEDIATE takes the write lock at the start of
    # every transaction (waiting up to the busy timeout), so a read-check-write such as a cap
    # check or an alternative append runs alone, as it does under PostgreSQL's row locks.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def init_app(app: Flask, url: str) -> None:
    app.extensions["db_engine"] = make_engine(url)
    app.extensions["db_sessionmaker"] = sessionmaker(
        app.extensions["db_engine"], expire_on_commit=False
    )
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """The session of the current request: one transaction per request."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessionmaker"]()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()  # rolls back whatever was not committed


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's current transaction has committed, never on rollback.

    A callback's exception is kept, not raised inside SQLAlchemy's commit (which would leave the
    session unusable): `raise_commit_errors` raises it afterwards.
    """
    session.info.setdefault("on_commit", []).append(callback)


def raise_commit_errors(session: Session) -> None:
    """Raise the first exception an on_commit callback of the last commit raised, if any."""
    errors = session.info.pop("commit_errors", [])
    if errors:
        raise errors[0]


@event.listens_for(Session, "after_commit")
def _run_commit_hooks(session: Session) -> None:
    for callback in session.info.pop("on_commit", []):
        try:
            callback()
        except Exception as exc:  # handed to raise_commit_errors, see on_commit
            session.info.setdefault("commit_errors", []).append(exc)


@event.listens_for(Session, "after_soft_rollback")
def _drop_commit_hooks(session: Session, _previous_transaction) -> None:
    session.info.pop("on_commit", None)
