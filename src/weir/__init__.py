"""Weir: a self-hosted video calling platform."""

__version__ = "0.1.0"
