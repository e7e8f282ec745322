"""The agent's side of a team installation: talking to a Desk server over the network (no Qt, no database)."""
