"""The service layer: every rule about users, topics, publishing and bots lives here."""
