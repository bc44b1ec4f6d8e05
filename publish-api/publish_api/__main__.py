"""Command line: `python -m publish_api migrate` or `python -m publish_api serve`."""

from __future__ import annotations

import argparse
import sys

from . import logs
from .migrate import upgrade
from .settings import SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="publish_api")
    parser.add_argument("command", choices=["migrate", "serve"])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (serve)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (serve)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    logs.configure(settings.LOG_LEVEL)
    upgrade(settings.DATABASE_URL)
    if args.command == "serve":
        _serve(settings, args.workers, args.threads)
    return 0


def _serve(settings, workers: int, threads: int) -> None:
    from gunicorn.app.wsgiapp import WSGIApplication

    sys.argv = [
        "gunicorn",
        "--bind",
        f"{settings.PUBLISH_API_HOST}:{settings.PUBLISH_API_PORT}",
        "--workers",
        str(workers),
        # Threaded workers: a sync worker is held by one connection until it sends a whole
        # request, so two idle clients stalled both workers for the 30 s timeout. gthread gives a
        # silent connection one thread for at most 5 s, then parks it on the worker's poller.
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        # One line per request, in the product's format (logs.py).
        "--logger-class",
        "publish_api.logs.GunicornLogger",
        "--access-logfile",
        "-",
        "--access-logformat",
        logs.ACCESS_LOG_FORMAT,
        "--timeout",
        "30",
        "publish_api:create_app()",
    ]
    WSGIApplication().run()


if __name__ == "__main__":
    sys.exit(main())
