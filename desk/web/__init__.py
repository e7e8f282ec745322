"""`desk serve`: the Support Center pages for end users and the JSON API for integrations (ASGI, FastAPI)."""
