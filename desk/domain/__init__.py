"""Pure rules of the help desk: no Qt, no SQLAlchemy, no I/O."""
