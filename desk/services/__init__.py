"""Use cases: one function per user action, each checking permission and running in one short transaction."""
