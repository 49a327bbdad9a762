"""The MemCube archive: one zip file of JSON Lines parts, float32 vector parts and a
manifest that names every part with its sha256 (``docs/memcube.md`` specifies it).

Parts are written to spooled temporary files (memory up to a few MB each, then disk) and
copied into the zip when the cube is closed, so that a cube of any size is written with
the memory of one batch; they are read back as streams, one row at a time."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import tempfile
import time
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from ..errors import CubeError

FORMAT: Literal["engramos.memcube"] = "engramos.memcube"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# every part, in the order an importer reads them (references point backwards, except a
# memory's ``supersedes``, which may name a memory further on)
PARTS = ("messages.jsonl", "cells.jsonl", "scenes.jsonl", "centroids.f32", "memories.jsonl", "vectors.f32",
         "history.jsonl", "entities.jsonl", "entity_links.jsonl")
VECTOR_PARTS = {"vectors.f32": "memories.jsonl", "centroids.f32": "scenes.jsonl"}
SPOOL_BYTES = 8 << 20
ScopeKind = Literal["space", "user", "agent", "conversation"]


class Scope(BaseModel):
    """What a cube holds: a whole space, or one user, agent or conversation of it."""

    kind: ScopeKind
    space: str
    user_id: str | None = None
    agent_id: str | None = None
    conversation_id: str | None = None

    def describe(self) -> str:
        ident = {"space": self.space, "user": self.user_id, "agent": self.agent_id,
                 "conversation": self.conversation_id}[self.kind]
        return f"{self.kind} {ident}" if self.kind != "space" else f"space {self.space}"


class PartInfo(BaseModel):
    sha256: str
    bytes: int
    rows: int


class EmbeddingInfo(BaseModel):
    model: str
    dim: int


class Signature(BaseModel):
    algorithm: Literal["hmac-sha256"] = "hmac-sha256"
    key_id: str | None = None  # which shared key signed it (a name, never the key)
    value: str


class Manifest(BaseModel):
    format: Literal["engramos.memcube"] = FORMAT
    format_version: int
    engramos_version: str
    cube_id: str
    created_at: datetime
    scope: Scope
    embedding: EmbeddingInfo | None = None  # None: the cube holds no vectors
    counts: dict[str, int] = Field(default_factory=dict)
    parts: dict[str, PartInfo]
    signature: Signature | None = None

    def signed_bytes(self) -> bytes:
        """What a signature covers: the manifest without its signature, canonical JSON
        (sorted keys, no spaces).  The parts' hashes are in it, so it covers them too."""
        body = self.model_dump(mode="json", exclude={"signature"})
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(manifest: Manifest, key: bytes, key_id: str | None = None) -> Signature:
    return Signature(key_id=key_id, value=hmac.new(key, manifest.signed_bytes(), hashlib.sha256).hexdigest())


def signature_holds(manifest: Manifest, key: bytes) -> bool:
    if manifest.signature is None:
        return False
    want = hmac.new(key, manifest.signed_bytes(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, manifest.signature.value)


class _Part:
    def __init__(self) -> None:
        # closed by CubeWriter.finish / discard, once the part is in the archive
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self.rows = 0


class CubeWriter:
    """Rows in, a zip out: :meth:`row` and :meth:`vector` append to parts, :meth:`finish`
    writes the archive (parts first, the manifest last)."""

    def __init__(self) -> None:
        self._parts = {name: _Part() for name in PARTS}
        self.dim: int | None = None

    def row(self, part: str, obj: dict[str, Any]) -> None:
        p = self._parts[part]
        p.file.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
        p.rows += 1

    def vector(self, part: str, vec: np.ndarray) -> int:
        """Append one float32 row; its index in the part."""
        if self.dim is None:
            self.dim = int(vec.shape[0])
        if vec.shape != (self.dim,):
            raise CubeError(f"a vector of dimension {vec.shape[0]} among vectors of dimension {self.dim}", part)
        p = self._parts[part]
        p.file.write(np.ascontiguousarray(vec, dtype="<f4").tobytes())
        p.rows += 1
        return p.rows - 1

    def rewrite(self, part: str, fix: Any) -> None:
        """Pass every row of a part through ``fix`` (a row -> row function), streaming:
        for references that could only be checked once every row was written."""
        old = self._parts[part]
        new = _Part()
        old.file.seek(0)
        for line in old.file:
            new.file.write(json.dumps(fix(json.loads(line)), ensure_ascii=False, separators=(",", ":")).encode()
                           + b"\n")
            new.rows += 1
        old.file.close()
        self._parts[part] = new

    def rows(self, part: str) -> int:
        return self._parts[part].rows

    def finish(self, out: str | Path | IO[bytes], manifest: Manifest, sign_key: bytes | None = None,
               key_id: str | None = None) -> Manifest:
        """Write the archive; ``manifest`` gets the parts' hashes (and the signature)."""
        infos: dict[str, PartInfo] = {}
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for name, p in self._parts.items():
                digest, size = hashlib.sha256(), 0
                p.file.seek(0)
                entry = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
                # float32 embeddings do not deflate (a few percent, at a third of the export's time)
                entry.compress_type = zipfile.ZIP_STORED if name in VECTOR_PARTS else zipfile.ZIP_DEFLATED
                with zf.open(entry, "w", force_zip64=True) as dst:
                    while chunk := p.file.read(1 << 20):
                        digest.update(chunk)
                        size += len(chunk)
                        dst.write(chunk)
                p.file.close()
                infos[name] = PartInfo(sha256=digest.hexdigest(), bytes=size, rows=p.rows)
            manifest = manifest.model_copy(update={"parts": infos})
            if sign_key:
                manifest = manifest.model_copy(update={"signature": sign(manifest, sign_key, key_id)})
            zf.writestr(MANIFEST, json.dumps(manifest.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return manifest

    def discard(self) -> None:
        for p in self._parts.values():
            p.file.close()


class CubeReader:
    """An open cube: its manifest, checked for form on opening; :meth:`check_parts`
    hashes every part; :meth:`rows` and :meth:`vectors` stream a part."""

    def __init__(self, source: str | Path | IO[bytes]) -> None:
        try:
            self._zip = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
            raise CubeError(f"not a readable zip archive (truncated or not a cube): {exc}", "archive") from exc
        except OSError as exc:
            raise CubeError(f"cannot be opened: {exc}", "archive") from exc
        self.manifest = self._read_manifest()

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> CubeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_manifest(self) -> Manifest:
        try:
            raw = json.loads(self._zip.read(MANIFEST))
        except KeyError as exc:
            raise CubeError("missing: this archive is not a MemCube", MANIFEST) from exc
        except Exception as exc:  # reason: a damaged entry raises BadZipFile, zlib.error, EOFError or ValueError
            raise CubeError(f"unreadable: {exc}", MANIFEST) from exc
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise CubeError(f"not a MemCube manifest (format must be {FORMAT!r})", MANIFEST)
        version = raw.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
            raise CubeError(f"format_version {version!r} is not supported (this EngramOS reads 1 to "
                            f"{FORMAT_VERSION}); upgrade EngramOS to read it", MANIFEST)
        try:
            manifest = Manifest.model_validate(raw)
        except ValidationError as exc:
            raise CubeError(f"invalid: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}", MANIFEST) from exc
        missing = [p for p in PARTS if p not in manifest.parts]
        if missing:
            raise CubeError(f"lists no part {', '.join(missing)}", MANIFEST)
        return manifest

    def check_parts(self) -> None:
        """Every part present, of the listed size and sha256, and nothing unlisted."""
        names = set(self._zip.namelist())
        extra = names - set(self.manifest.parts) - {MANIFEST}
        if extra:
            raise CubeError("is not listed in the manifest", sorted(extra)[0])
        for name, info in self.manifest.parts.items():
            if name not in names:
                raise CubeError("missing from the archive", name)
            digest, size = hashlib.sha256(), 0
            try:
                with self._zip.open(name) as f:
                    while chunk := f.read(1 << 20):
                        digest.update(chunk)
                        size += len(chunk)
            except Exception as exc:  # reason: zipfile raises BadZipFile, zlib.error, EOFError on damage
                what = "checksum mismatch (the zip's CRC-32)" if "CRC" in str(exc) else "damaged"
                raise CubeError(f"{what}: {type(exc).__name__}: {exc}", name) from exc
            if size != info.bytes or digest.hexdigest() != info.sha256:
                raise CubeError(f"checksum mismatch (sha256 {digest.hexdigest()[:16]}..., {size} bytes; the "
                                f"manifest says {info.sha256[:16]}..., {info.bytes} bytes)", name)
        dim = self.manifest.embedding.dim if self.manifest.embedding else None
        for vec_part in VECTOR_PARTS:
            info = self.manifest.parts[vec_part]
            if info.rows and (dim is None or info.bytes != info.rows * dim * 4):
                raise CubeError(f"{info.bytes} bytes do not hold {info.rows} float32 vectors of dimension {dim}",
                                vec_part)

    def rows(self, part: str) -> Iterator[dict[str, Any]]:
        with self._zip.open(part) as raw:
            for n, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8"), 1):
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise CubeError(f"line {n} is not JSON: {exc}", part) from exc
                if not isinstance(row, dict):
                    raise CubeError(f"line {n} is not an object", part)
                yield row

    def vectors(self, part: str) -> Iterator[np.ndarray]:
        dim = self.manifest.embedding.dim if self.manifest.embedding else 0
        if not dim:
            return
        with self._zip.open(part) as f:
            while chunk := f.read(dim * 4):
                if len(chunk) != dim * 4:
                    raise CubeError("ends inside a vector", part)
                yield np.frombuffer(chunk, dtype="<f4").astype(np.float32)

