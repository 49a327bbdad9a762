"""The closed vocabularies, each listed once as a type; every other list (CLI choices,
storage codes, schema checks, prompt enums, validation messages) derives from these."""

from __future__ import annotations

from typing import Literal, get_args

MemoryKind = Literal["episode", "fact", "foresight", "profile", "turn"]
MEMORY_KINDS: tuple[MemoryKind, ...] = get_args(MemoryKind)
# archived: kept and restorable, out of recall unless asked (``Filters.include_archived``);
# expired: a memory whose time has passed, retired by a retention rule (also restorable).
# New statuses go last: the SQLite vector cache stores their position.
MemoryStatus = Literal["active", "superseded", "deleted", "archived", "expired"]
# whether a hit was true at the time a question is about (recall/validity.py)
Validity = Literal["current", "superseded", "expired", "not_yet", "outdated"]
MEMORY_STATUSES: tuple[MemoryStatus, ...] = get_args(MemoryStatus)
JobStatus = Literal["pending", "running", "done", "failed", "parked"]
JOB_STATUSES: tuple[JobStatus, ...] = get_args(JobStatus)
HistoryAction = Literal["create", "update", "supersede", "delete", "restore", "archive", "expire"]
KeyRole = Literal["admin", "write", "read"]
KEY_ROLES: tuple[KeyRole, ...] = get_args(KeyRole)
