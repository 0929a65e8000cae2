"""The project store (SQLAlchemy; SQLite by default, PostgreSQL for teams)."""

from transcode.store.repo import Store, open_store

__all__ = ["Store", "open_store"]
