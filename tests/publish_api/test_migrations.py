import json

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from publish_api.migrate import alembic_config, upgrade
from tests.support.services import create_database, drop_database


def test_migrations_build_every_table_from_an_empty_database_and_rerun_cleanly():
    name, url = create_database("faqbot_migr")
    try:
        upgrade(url)
        upgrade(url)  # idempotent
        engine = create_engine(url)
        tables = set(inspect(engine).get_table_names())
        engine.dispose()
        assert {"workspaces", "users", "topics", "versions", "jobs", "bots",
                "unanswered_questions", "alembic_version"} <= tables
    finally:
        drop_database(name)


def test_migrations_run_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'api.sqlite3'}"
    upgrade(url)
    engine = create_engine(url)
    assert "topics" in inspect(engine).get_table_names()
    engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'api.sqlite3'}"
        return
    name, url = create_database("faqbot_migr")
    yield url
    drop_database(name)


def _owner_one(connection) -> None:
    """Workspace T1 and its user U1 (id 1), written as an older schema has them."""
    connection.execute(text(
        "INSERT INTO workspaces (id, team_id, created_at) VALUES (1, 'T1', CURRENT_TIMESTAMP)"
    ))
    connection.execute(text(
        "INSERT INTO users (id, workspace_id, slack_user_id, display_name, created_at) "
        "VALUES (1, 1, 'U1', 'One', CURRENT_TIMESTAMP)"
    ))


def test_0002_counts_and_compacts_the_stored_snapshots_and_downgrades(empty_database):
    config = alembic_config(empty_database)
    command.upgrade(config, "0001")
    engine = create_engine(empty_database)
    spaced = json.dumps([{"id": 1, "question": "Party? 🎉", "alternatives": [], "answer": "a"}] * 2)
    with engine.begin() as connection:
        _owner_one(connection)
        connection.execute(text(
            "INSERT INTO versions (id, owner_id, digest, topics, created_at) "
            "VALUES (1, 1, 'd', :topics, CURRENT_TIMESTAMP)"
        ), {"topics": spaced})
    command.upgrade(config, "head")
    with engine.connect() as connection:
        count, stored = connection.execute(
            text("SELECT topic_count, CAST(topics AS TEXT) FROM versions")
        ).one()
    assert count == 2 and "🎉" in stored and ", " not in stored
    assert json.loads(stored) == json.loads(spaced)
    command.downgrade(config, "0001")
    engine.dispose()


def test_0004_keeps_questions_open_and_already_named_and_downgrades(empty_database):
    config = alembic_config(empty_database)
    command.upgrade(config, "0003")
    engine = create_engine(empty_database)
    with engine.begin() as connection:
        _owner_one(connection)
        connection.execute(text(
            "INSERT INTO unanswered_questions (owner_id, asker_team_id, asker_user_id, question,"
            " created_at) VALUES (1, 'T1', 'U2', 'Where?', CURRENT_TIMESTAMP)"
        ))
    command.upgrade(config, "head")
    with engine.connect() as connection:
        state, kind, named = connection.execute(text(
            "SELECT state, kind, owner_notified_at FROM unanswered_questions")).one()
        assert "asks" in inspect(connection).get_table_names()
    assert (state, kind) == ("open", "not_answered") and named is not None
    command.downgrade(config, "0003")
    with engine.connect() as connection:
        assert "asks" not in inspect(connection).get_table_names()
        assert connection.execute(text("SELECT question FROM unanswered_questions")).scalar() \
            == "Where?"
    engine.dispose()


def test_0005_adds_the_dismissed_questions_of_a_version_and_downgrades(empty_database):
    config = alembic_config(empty_database)
    command.upgrade(config, "0004")
    engine = create_engine(empty_database)
    with engine.begin() as connection:
        _owner_one(connection)
        connection.execute(text(
            "INSERT INTO versions (id, owner_id, digest, topics, topic_count, created_at) "
            "VALUES (1, 1, 'd', '[]', 0, CURRENT_TIMESTAMP)"
        ))
    command.upgrade(config, "head")
    with engine.connect() as connection:
        # A version published before holds none: read as an empty list.
        assert connection.execute(text("SELECT dismissed_questions FROM versions")).scalar() \
            is None
    command.downgrade(config, "0004")
    with engine.connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("versions")}
    assert "dismissed_questions" not in columns and "topics" in columns
    engine.dispose()
