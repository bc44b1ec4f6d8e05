"""Session-wide clean-up: the bot pools that test workers started outlive them by design."""

import pytest

from tests.support.services import stop_pools


@pytest.fixture(scope="session", autouse=True)
def _stop_bot_pools():
    yield
    stop_pools()
