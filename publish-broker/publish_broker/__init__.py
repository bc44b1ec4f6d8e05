"""The publish-broker: turns a publish job into a live, per-owner Rasa bot."""
