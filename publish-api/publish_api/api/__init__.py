"""The HTTP layer: thin blueprints over the service layer, auth, and one error mapping."""

from __future__ import annotations

from flask import Flask

from . import auth, errors, jobs, meta, owners


def init_app(app: Flask) -> None:
    auth.init_app(app)
    errors.init_app(app)
    for blueprint in (meta.bp, owners.bp, jobs.bp):
        app.register_blueprint(blueprint)
