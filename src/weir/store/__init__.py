"""Persistence: SQLAlchemy 2 (async) tables and repositories; SQLite by default, PostgreSQL by URL."""
