"""Alembic migrations of the store's schema; :mod:`fleet.store.schema` runs them.

``env.py`` is Alembic's environment script and ``versions/`` holds one module per revision.
To add a revision after changing :mod:`fleet.store.tables`, write ``versions/rNNNN_*.py`` by
hand (or with ``alembic revision --autogenerate`` against a database at head, then review it),
with explicit constraint and index names; ``tests/store/test_migrations.py`` checks that the
migrated schema matches the tables.
"""
