import uuid

from sqlalchemy import create_engine, inspect

from publish_api.migrate import upgrade

from .conftest import ADMIN_URL, _admin


def test_migrations_build_every_table_from_an_empty_database_and_rerun_cleanly():
    name = f"faqbot_migr_{uuid.uuid4().hex[:8]}"
    _admin(f"CREATE DATABASE {name}")
    url = (
        ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://") + "/" + name
    )
    try:
        upgrade(url)
        upgrade(url)  # idempotent
        engine = create_engine(url)
        tables = set(inspect(engine).get_table_names())
        engine.dispose()
        assert {
            "workspaces",
            "users",
            "topics",
            "versions",
            "jobs",
            "bots",
            "unanswered_questions",
            "alembic_version",
        } <= tables
    finally:
        _admin(f"DROP DATABASE {name} WITH (FORCE)")


def test_migrations_run_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'api.sqlite3'}"
    upgrade(url)
    engine = create_engine(url)
    assert "topics" in inspect(engine).get_table_names()
    engine.dispose()
