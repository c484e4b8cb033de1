"""Which store a recording goes to, and that store's backend.

The seed's order: the storage named in the start request (``recording_external_storage``), else the call
type's ``external_storage``, else the default. The default is Weir's own store, named ``weir``; the seed's
name for the built-in store, ``stream-s3``, means the same, so settings copied from the seed keep working.
"""

from __future__ import annotations

from collections.abc import Callable

from weir.sealing import Sealer
from weir.storage.base import DEFAULT_STORAGE, ObjectStore, StorageError
from weir.storage.external import row_store
from weir.store.db import Database
from weir.store.tables import CallTypeRow, ExternalStorageRow

DEFAULT_NAMES = frozenset({DEFAULT_STORAGE, "stream-s3"})


class UnknownStorage(StorageError):
    """No external storage has that name (it was deleted, or never made)."""


def select_storage(requested: str | None, call_type_storage: str | None) -> str | None:
    """The storage name to use (None: the default store)."""
    for name in (requested, call_type_storage):
        if name:
            return None if name in DEFAULT_NAMES else name
    return None


class StoreRegistry:
    """Resolves storage names to backends: the default store (built by ``default_factory``, once) or an external
    storage's, read from the database each time so that updates apply to the next upload."""

    def __init__(self, db: Database, sealer: Sealer, default_factory: Callable[[], ObjectStore]) -> None:
        self._db = db
        self._sealer = sealer
        self._default_factory = default_factory
        self._default: ObjectStore | None = None

    def default(self) -> ObjectStore:
        if self._default is None:
            self._default = self._default_factory()
        return self._default

    async def resolve(self, name: str | None) -> ObjectStore:
        return await resolve_store(self._db, name, sealer=self._sealer, default=self.default)

    async def for_call(self, call_type: str, requested: str | None) -> tuple[str, ObjectStore]:
        """The store a call's recording goes to (the seed's order) and its name (``weir`` for the default)."""
        async with self._db.read() as session:
            row = await session.get(CallTypeRow, call_type)
        name = select_storage(requested, row.external_storage if row is not None else None)
        return name or DEFAULT_STORAGE, await self.resolve(name)


async def resolve_store(db: Database, name: str | None, *, sealer: Sealer,
                        default: Callable[[], ObjectStore]) -> ObjectStore:
    """The store named ``name`` (None or a default name: ``default()``); ``UnknownStorage`` if there is none."""
    if name is None or name in DEFAULT_NAMES:
        return default()
    async with db.read() as session:
        row = await session.get(ExternalStorageRow, name)
    if row is None:
        raise UnknownStorage(f"no external storage named '{name}'")
    return row_store(row, sealer)
