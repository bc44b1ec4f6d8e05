"""Rasa input channels of the concierge (Slack)."""
