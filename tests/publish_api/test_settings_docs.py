"""README's settings tables and the .env.sample files name exactly the settings the code reads
(publish-api, and the playground, which shares this Python 3.11 environment)."""

from __future__ import annotations

import pytest

from playground.settings import Settings as PlaygroundSettings
from publish_api.settings import Settings as PublishApiSettings
from tests.support.settings_docs import documented_settings, sample_settings


@pytest.mark.parametrize("section, settings", [("publish-api", PublishApiSettings),
                                               ("The playground", PlaygroundSettings)])
def test_the_readme_table_is_the_settings_class(section, settings):
    assert documented_settings(section) == set(settings.model_fields)


def test_the_env_sample_sets_only_settings():
    assert sample_settings("publish-api/.env.sample") <= set(PublishApiSettings.model_fields)
