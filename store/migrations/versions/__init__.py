"""Revisions, written by hand; `tests/store/test_migrations.py` checks them against the ORM."""
