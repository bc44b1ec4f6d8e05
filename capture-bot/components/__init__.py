"""NLU components of the concierge's own (referenced from config.yml by module path)."""
