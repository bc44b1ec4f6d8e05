"""Session-wide: every process a test starts gets the run's start environment (isolation.py,
imported first, before any test can change os.environ), and at the end nothing may be left."""

import pytest

from tests.support import isolation
from tests.support.services import stop_pools


@pytest.fixture(scope="session", autouse=True)
def _nothing_left_behind(tmp_path_factory):
    yield
    stop_pools()  # the bot pools that test workers started outlive them by design
    isolation.check_nothing_left(tmp_path_factory.getbasetemp())
