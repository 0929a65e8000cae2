"""The coding room's tests run on one SQLite store each (the screens are not backend-specific)."""

from __future__ import annotations

import pytest

from tests.support.stores import build_store


@pytest.fixture()
def store(tmp_path):
    """The coding room's store (:func:`tests.support.stores.build_store`) in a fresh SQLite file."""
    s = build_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()
