"""microdl's bench suite: ``python -m bench`` (see bench/__main__.py)."""
