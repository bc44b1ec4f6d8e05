"""The bot pool: one process answering for many owners' bots with one shared encoder.

It imports neither Rasa nor TensorFlow (the pool image installs neither): it reads each bot's
FAQ matcher out of its Rasa model archive with publish_broker.matcher.
"""
