"""README's settings table and capture-bot/.env.sample name exactly the concierge's settings."""

from __future__ import annotations

from connectors.settings import Settings
from tests.support.settings_docs import documented_settings, sample_settings

# Read by Rasa from the image's endpoints file (capture-bot/Dockerfile), not by the connector.
READ_BY_RASA = {"ACTION_ENDPOINT_URL"}


def test_the_readme_table_is_the_settings_class():
    assert documented_settings("capture-bot") - READ_BY_RASA == set(Settings.__fields__)


def test_the_env_sample_sets_only_settings():
    assert sample_settings("capture-bot/.env.sample") <= set(Settings.__fields__)
