"""The worker's entry point: `celery -A publish_broker.make_celery worker` (and `inspect ping`).

The only module that builds the Celery app at import: the rest of the package imports no app and
reads no settings at import.
"""

from .celery_app import create_app

app = create_app()
