"""Alembic environment: runs migrations on the connection `redress db upgrade` hands it."""

from alembic import context

from workflow.adapters.models import SQLModel

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
