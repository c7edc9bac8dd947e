"""Alembic migrations of the store; driven from code by `store.migrate`, no alembic.ini."""
