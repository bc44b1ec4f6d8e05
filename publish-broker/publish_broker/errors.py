"""Domain errors of the publish-broker and its bot pool: every exception type the package
raises is here (but ``SettingsError``, which the settings modules raise at start).

Every error that ends a publish job carries ``message_for_owner``: plain words the owner reads in
Slack. It never contains secrets, tokens or stack traces; the technical cause stays in the log
(and in ``__cause__``).
"""


class BrokerError(Exception):
    """Root of the broker's domain errors."""


class PublishFailed(BrokerError):
    """A publish job cannot succeed as is; ``message_for_owner`` says why in plain words."""

    def __init__(self, message_for_owner: str) -> None:
        super().__init__(message_for_owner)
        self.message_for_owner = message_for_owner


class TrainingError(PublishFailed):
    """The owner's topics could not be turned into a trained bot model."""


class DeployError(PublishFailed):
    """A trained model could not be made live (container or process runtime)."""


class WordNetMissing(BrokerError):
    """WordNet data is not where NLTK looks: a broken installation, not an owner's mistake."""


class RuntimeUnavailable(BrokerError):
    """The bot runtime's engine (Docker) cannot be reached right now: retry later."""


class ApiUnavailable(BrokerError):
    """publish-api could not be reached or failed (transient: retry later)."""


class JobClosed(BrokerError):
    """The job is final, superseded or taken over by another task: nothing more to do here."""


class OwnerBusy(BrokerError):
    """Another job of the same owner, or another task, holds the lease: try again later."""


class ApiRejected(BrokerError):
    """publish-api refused a request as malformed (an unexpected 4xx): retrying cannot help."""


class EncoderUnavailable(BrokerError):
    """The encoder's weights package is not installed or its files are unreadable."""


class ModelUnreadable(BrokerError, ValueError):
    """A model file is missing, corrupt or not a FAQ bot's model."""


class BotNotFound(BrokerError, LookupError):
    """The pool has no model stored for this bot (never published, or retired)."""


class BadRequest(BrokerError):
    """A request to the pool is not what the route takes; the message says what is wrong."""
