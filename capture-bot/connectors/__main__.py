"""`python -m connectors run ...`: the concierge, as `rasa run ...` with the same options, minus
third-party deprecation notices.

Rasa's dependencies print a dozen of them while Rasa imports them, in a format of their own, before
any code of ours runs. PYTHONWARNINGS cannot silence them: Sanic's import sets DeprecationWarnings
to show once, ahead of it, and Rasa's start shows each UserWarning once (pyparsing's notices are
both). So Sanic is imported first, the notices are ignored after it, and what `rasa run` imports
is imported here, before Rasa's start sets its filters (README "Logs").
"""

import warnings

import sanic  # noqa: F401  (imported for its side effect on the warning filters)

warnings.filterwarnings("ignore", category=DeprecationWarning)

import rasa.core.run  # noqa: E402,F401  (what `rasa run` imports, under the filter)
import rasa.server  # noqa: E402
from rasa.__main__ import main  # noqa: E402
from sanic import response  # noqa: E402


def _root_without_version(app: sanic.Sanic) -> None:
    # Rasa's `GET /` answers "Hello from Rasa: 3.6.21": which version to look up flaws for, to
    # anyone who reaches the port. Ours says only that it runs.
    @app.get("/")
    async def root(_request: sanic.Request) -> response.HTTPResponse:
        return response.text("ok")


rasa.server.add_root_route = _root_without_version

if __name__ == "__main__":
    main()
