"""Session fixtures of the publish-broker tests: a warm trainer and a trained model."""

import pytest

from tests.publish_broker.faq_data import faq_version


@pytest.fixture(scope="session")
def trainer():
    """A warmed-up Trainer, as the worker holds one (the warm-up costs ~5 s once)."""
    from publish_broker.training import Trainer

    warm = Trainer(paraphrases_per_topic=10)
    warm.warm_up()
    return warm


@pytest.fixture(scope="session")
def three_topic_model(trainer, tmp_path_factory):
    """The first three OFFICE_FAQ topics, trained once for the whole session."""
    return trainer.train(faq_version(3), tmp_path_factory.mktemp("models"))
