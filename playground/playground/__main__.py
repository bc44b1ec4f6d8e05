"""`python -m playground`: serve the playground on PLAYGROUND_HOST:PLAYGROUND_PORT.

One gunicorn worker (the workspace lives in its memory) with threads, so the page's polling,
the concierge's Web API calls and a person's typing are served side by side.
"""

from __future__ import annotations

import sys

from . import logs
from .settings import SettingsError, load_settings


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    from gunicorn.app.wsgiapp import WSGIApplication

    sys.argv = ["gunicorn", "--bind", f"{settings.PLAYGROUND_HOST}:{settings.PLAYGROUND_PORT}",
                "--workers", "1", "--worker-class", "gthread", "--threads", "16",
                "--logger-class", "playground.logs.GunicornLogger",
                "--access-logfile", "-", "--access-logformat", logs.ACCESS_LOG_FORMAT,
                "--timeout", "30", "playground.app:create_app()"]
    WSGIApplication().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
