"""Desk: a help desk that support agents run as a desktop application."""

__version__ = "0.1.0"
