"""How an agent's Desk reaches the services: in its own process on a local file, or through a Desk server."""
