"""Named migrations of the PostgreSQL backend (same names as SQLite's), each applied in
its own transaction under an advisory lock, so that many processes can open one database
at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .fulltext import migrate_to_shared_terms

MIGRATIONS: list[tuple[str, str | Callable[[Any], None]]] = [
    (
        "0001_core",
        """
        CREATE EXTENSION IF NOT EXISTS vector;
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE messages (
            pk BIGSERIAL PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            space TEXT NOT NULL,
            user_id TEXT NOT NULL,
            agent_id TEXT,
            conversation_id TEXT NOT NULL,
            session_id TEXT,
            seq INTEGER NOT NULL,
            sender TEXT NOT NULL,
            sender_name TEXT NOT NULL,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            ts TIMESTAMPTZ NOT NULL,
            ts_text TEXT NOT NULL,
            external_id TEXT,
            metadata JSONB NOT NULL DEFAULT '{}',
            content_hash TEXT NOT NULL,
            cell_id TEXT,
            created_at TIMESTAMPTZ NOT NULL,
            UNIQUE (space, conversation_id, content_hash),
            UNIQUE (space, conversation_id, seq)
        );
        CREATE INDEX messages_user ON messages (space, user_id);
        CREATE INDEX messages_unassigned ON messages (space, conversation_id, seq) WHERE cell_id IS NULL;
        CREATE TABLE memories (
            pk BIGSERIAL PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            space TEXT NOT NULL,
            kind TEXT NOT NULL,
            user_id TEXT NOT NULL,
            agent_id TEXT,
            conversation_id TEXT NOT NULL,
            session_id TEXT,
            speaker TEXT,
            text TEXT NOT NULL,
            observed_at TIMESTAMPTZ NOT NULL,
            observed_text TEXT NOT NULL,
            event_start TIMESTAMPTZ,
            event_end TIMESTAMPTZ,
            valid_from TIMESTAMPTZ,
            valid_to TIMESTAMPTZ,
            t_start DOUBLE PRECISION NOT NULL,
            t_end DOUBLE PRECISION NOT NULL,
            status TEXT NOT NULL DEFAULT 'active',
            supersedes TEXT,
            cell_id TEXT,
            scene_id TEXT,
            message_ids JSONB NOT NULL DEFAULT '[]',
            metadata JSONB NOT NULL DEFAULT '{}',
            produced_by TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            tsv TSVECTOR NOT NULL
        );
        CREATE INDEX memories_list ON memories (space, user_id, observed_at DESC, id DESC);
        CREATE INDEX memories_space_list ON memories (space, observed_at DESC, id DESC);
        CREATE INDEX memories_conv ON memories (space, conversation_id, kind);
        CREATE INDEX memories_cell ON memories (space, cell_id);
        CREATE INDEX memories_scene ON memories (space, scene_id);
        CREATE INDEX memories_tsv ON memories USING GIN (tsv);
        CREATE TABLE vectors (
            memory_pk BIGINT PRIMARY KEY REFERENCES memories (pk) ON DELETE CASCADE,
            space TEXT NOT NULL,
            user_id TEXT NOT NULL,
            conversation_id TEXT NOT NULL,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vec vector NOT NULL
        );
        CREATE INDEX vectors_tenant ON vectors (space, user_id, conversation_id);
        CREATE TABLE cells (
            id TEXT PRIMARY KEY, space TEXT NOT NULL, user_id TEXT NOT NULL, conversation_id TEXT NOT NULL,
            first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, start_at TIMESTAMPTZ NOT NULL,
            end_at TIMESTAMPTZ NOT NULL, start_text TEXT NOT NULL, end_text TEXT NOT NULL, scene_id TEXT,
            status TEXT NOT NULL, boundary TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX cells_conv ON cells (space, conversation_id, first_seq);
        CREATE TABLE scenes (
            id TEXT PRIMARY KEY, space TEXT NOT NULL, user_id TEXT NOT NULL, label TEXT NOT NULL,
            size INTEGER NOT NULL, first_at TIMESTAMPTZ NOT NULL, last_at TIMESTAMPTZ NOT NULL,
            centroid BYTEA NOT NULL
        );
        CREATE INDEX scenes_user ON scenes (space, user_id, last_at DESC);
        CREATE TABLE history (
            id TEXT PRIMARY KEY, seq BIGSERIAL, space TEXT NOT NULL, memory_id TEXT NOT NULL,
            action TEXT NOT NULL, actor TEXT NOT NULL, at TIMESTAMPTZ NOT NULL, before JSONB, after JSONB
        );
        CREATE INDEX history_memory ON history (space, memory_id, at);
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY, space TEXT NOT NULL, kind TEXT NOT NULL, payload JSONB NOT NULL,
            dedupe_key TEXT, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL, run_after DOUBLE PRECISION NOT NULL, lease_until DOUBLE PRECISION,
            worker TEXT, last_error TEXT, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX jobs_due ON jobs (status, run_after);
        CREATE INDEX jobs_space ON jobs (space, status);
        CREATE UNIQUE INDEX jobs_dedupe ON jobs (space, dedupe_key)
            WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'running');
        """,
    ),
    ("0002_job_usage", "ALTER TABLE jobs ADD COLUMN usage JSONB;"),
    (
        "0003_keys_audit",
        """
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY, space TEXT NOT NULL, name TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL, users JSONB, agents JSONB, created_at TIMESTAMPTZ NOT NULL, revoked_at TIMESTAMPTZ
        );
        CREATE INDEX api_keys_space ON api_keys (space);
        CREATE TABLE audit (
            id TEXT PRIMARY KEY, space TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
            target TEXT NOT NULL, at TIMESTAMPTZ NOT NULL, detail JSONB NOT NULL DEFAULT '{}'
        );
        CREATE INDEX audit_space ON audit (space, at);
        """,
    ),
    ("0004_shared_index_terms", migrate_to_shared_terms),
    # see the SQLite migration of the same name: a running job told to run again
    ("0006_job_rerun", "ALTER TABLE jobs ADD COLUMN rerun BOOLEAN NOT NULL DEFAULT false;"),
    ("0007_supersedes_index",
     "CREATE INDEX memories_supersedes ON memories (space, supersedes) WHERE supersedes IS NOT NULL;"),
    (
        "0008_entities",
        """
        -- see the SQLite migration of the same name: the entity graph
        CREATE TABLE entities (
            pk BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, space TEXT NOT NULL, user_id TEXT NOT NULL,
            key TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, aliases JSONB NOT NULL DEFAULT '[]',
            first_at TIMESTAMPTZ NOT NULL, last_at TIMESTAMPTZ NOT NULL, UNIQUE (space, user_id, key)
        );
        CREATE TABLE entity_aliases (
            entity_pk BIGINT NOT NULL REFERENCES entities (pk) ON DELETE CASCADE, space TEXT NOT NULL,
            user_id TEXT NOT NULL, alias TEXT NOT NULL, PRIMARY KEY (entity_pk, alias)
        );
        CREATE INDEX entity_aliases_name ON entity_aliases (space, user_id, alias);
        CREATE TABLE memory_entities (
            memory_pk BIGINT NOT NULL REFERENCES memories (pk) ON DELETE CASCADE,
            entity_pk BIGINT NOT NULL REFERENCES entities (pk) ON DELETE CASCADE,
            PRIMARY KEY (memory_pk, entity_pk)
        );
        CREATE INDEX memory_entities_entity ON memory_entities (entity_pk, memory_pk);
        """,
    ),
    # superseded_citing, asked at every search, scanned every memory of the space for
    # its message ids (11 ms a search over a 2,500-message conversation); SQLite reads
    # its memory_sources table instead and needs no such index
    ("0009_superseded_sources",
     "CREATE INDEX memories_superseded_sources ON memories USING GIN (message_ids) "
     "WHERE status = 'superseded' AND kind NOT IN ('turn', 'episode');"),
    ("0010_pii_vault", """
        CREATE TABLE pii_vault (
            space TEXT NOT NULL, user_id TEXT NOT NULL, conversation_id TEXT NOT NULL, token TEXT NOT NULL,
            kind TEXT NOT NULL, ciphertext BYTEA NOT NULL, created_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (space, conversation_id, token)
        );
        CREATE INDEX pii_vault_user ON pii_vault (space, user_id);
        """),
    ("0011_shares_and_mounts", """
        CREATE TABLE shares (
            id TEXT PRIMARY KEY, space TEXT NOT NULL, name TEXT NOT NULL, to_space TEXT NOT NULL, user_id TEXT,
            agent_id TEXT, created_at TIMESTAMPTZ NOT NULL, revoked_at TIMESTAMPTZ
        );
        CREATE INDEX shares_space ON shares (space);
        CREATE INDEX shares_to_space ON shares (to_space);
        CREATE TABLE mounts (
            space TEXT NOT NULL, name TEXT NOT NULL,
            share_id TEXT NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
            created_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (space, name)
        );
        CREATE INDEX mounts_share ON mounts (share_id);
        """),
]
