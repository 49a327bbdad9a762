"""The adapter registry: a LoRA adapter (GGUF) per user, applied by the local runtime
when it answers for that user (parametric memory, the serving side).

An entry is a store setting ``adapter/<space>/user/<user id>`` (so it travels with the
store and is removed with the user); the file is copied, content-addressed, to
``<local folder>/adapters/<sha256>.gguf``, and deleted when no entry of any space names
it.  An adapter is checked before it is registered: a GGUF header, a size bound, and
llama.cpp loading it against the configured model (which refuses another architecture
or tensors of the wrong shape)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

from .._util import utcnow
from ..errors import InvalidInputError
from ..store import Store
from ..types import AdapterInfo
from ..validation import check_id

_MAGIC = b"GGUF"


def _key(space: str, user_id: str = "") -> str:
    return f"adapter/{space}/user/{user_id}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class AdapterRegistry:
    def __init__(self, store: Store, folder: Path, *, max_bytes: int) -> None:
        self._store, self.folder, self.max_bytes = store, folder / "adapters", max_bytes

    def file(self, info: AdapterInfo) -> Path:
        path = self.folder / f"{info.sha256}.gguf"
        if not path.exists():
            raise InvalidInputError("adapter", f"the file of {info.user_id}'s adapter is missing from "
                                               f"{self.folder} (attach it again on this machine)")
        return path

    def attach(self, space: str, user_id: str, source: Path, *, scale: float, base_model: str,
               check: Callable[[Path], None]) -> AdapterInfo:
        """Register ``source`` for the user (replacing an earlier one); ``check`` loads it
        into the runtime and raises when the runtime refuses it."""
        check_id("user_id", user_id)
        if not source.is_file():
            raise InvalidInputError("file", f"{source} is not a file")
        size = source.stat().st_size
        if size > self.max_bytes:
            raise InvalidInputError("file", f"{size} bytes is more than local.max_adapter_bytes ({self.max_bytes})")
        with source.open("rb") as f:
            if f.read(4) != _MAGIC:
                raise InvalidInputError("file", f"{source.name} is not a GGUF file")
        if not -16.0 <= scale <= 16.0:
            raise InvalidInputError("scale", "must be between -16 and 16")
        check(source)
        sha = _sha256(source)
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{sha}.gguf"
        if not target.exists():
            tmp = target.with_suffix(".tmp")
            shutil.copyfile(source, tmp)
            tmp.replace(target)  # a reader never sees half a file
        previous = self.get(space, user_id)
        info = AdapterInfo(space=space, user_id=user_id, sha256=sha, name=source.name[:200], bytes=size,
                           scale=scale, base_model=base_model, attached_at=utcnow())
        self._store.set_meta(_key(space, user_id), info.model_dump_json())
        if previous is not None and previous.sha256 != sha:
            self._drop_unused(previous.sha256)
        return info

    def get(self, space: str, user_id: str) -> AdapterInfo | None:
        raw = self._store.get_meta(_key(space, user_id))
        return None if raw is None else AdapterInfo.model_validate_json(raw)

    def list(self, space: str) -> list[AdapterInfo]:
        return [AdapterInfo.model_validate_json(v) for _, v in self._store.meta_items(_key(space))]

    def detach(self, space: str, user_id: str) -> bool:
        info = self.get(space, user_id)
        if info is None:
            return False
        self._store.delete_meta(_key(space, user_id))
        self._drop_unused(info.sha256)
        return True

    def detach_space(self, space: str) -> int:
        entries = self.list(space)
        for info in entries:
            self.detach(space, info.user_id)
        return len(entries)

    def _drop_unused(self, sha: str) -> None:
        # another space's or user's entry may name the same file
        if not any(f'"sha256":"{sha}"' in v for _, v in self._store.meta_items("adapter/", limit=1_000_000)):
            (self.folder / f"{sha}.gguf").unlink(missing_ok=True)
