"""The local workspace of `make run`: a Slack Web API stand-in and a Slack-like page.

The page turns a person's typing and clicks into signed Events API and interactivity requests
to the concierge's real Slack webhook, and shows what the product posts back through the Web API
stand-in (`/api/<method>`), so everything goes through the same code as with real Slack.

The app lives in `playground.app` (Flask); this package's `slack_protocol` module needs only the
standard library, so the Rasa environment's tests can import it without Flask.
"""
