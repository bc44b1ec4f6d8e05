from sqlalchemy import create_engine, inspect

from publish_api.migrate import upgrade
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
