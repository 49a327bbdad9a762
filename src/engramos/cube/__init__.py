"""MemCube: a space, user, agent or conversation as one portable, verifiable file
(``docs/memcube.md``).  Export and import go through :class:`engramos.Memory`
(``export_cube`` / ``import_cube``); :func:`verify_cube` and :func:`inspect_cube`
need no store."""

from __future__ import annotations

from .format import FORMAT, FORMAT_VERSION, Manifest, PartInfo, Scope
from .importer import ON_CONFLICT, ImportReport, OnConflict
from .verify import CubeReport, inspect_cube, verify_cube

__all__ = ["FORMAT", "FORMAT_VERSION", "ON_CONFLICT", "CubeReport", "ImportReport", "Manifest", "OnConflict",
           "PartInfo", "Scope", "inspect_cube", "verify_cube"]
