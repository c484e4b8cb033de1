"""Alembic environment: runs on the connection ``store.db.migrate`` hands over, or on the URL for the CLI."""

from alembic import context
from sqlalchemy import create_engine

from weir.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None, "alembic needs a connection or sqlalchemy.url"
    url = url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")
    with create_engine(url).connect() as sync_connection:
        run(sync_connection)
        sync_connection.commit()
