"""Named schema migrations for the SQLite backend, applied in order when a store opens,
each in its own transaction.  Never edit an applied migration: add a new one.  A
migration is SQL, or a function of the connection when rows must be rewritten in Python."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ...text import index_text
from .rows import scope_tokens


def _shared_index_terms(conn: sqlite3.Connection) -> None:
    """The full-text index holds the terms :func:`engramos.text.index_terms` makes
    (stemmed in Python) instead of stemming on its own (FTS5's porter), so that the SQLite
    and PostgreSQL backends index, and therefore rank, exactly the same terms."""
    conn.execute("DROP TABLE memories_fts")
    conn.execute("CREATE VIRTUAL TABLE memories_fts USING fts5 (scope, body, "
                 "tokenize = 'unicode61 remove_diacritics 2')")
    cur = conn.execute("SELECT pk, space, user_id, conversation_id, kind, status, text FROM memories ORDER BY pk")
    while rows := cur.fetchmany(5000):
        conn.executemany("INSERT INTO memories_fts (rowid, scope, body) VALUES (?, ?, ?)",
                         [(r[0], scope_tokens(*r[1:6]), index_text(r[6])) for r in rows])


MIGRATIONS: list[tuple[str, str | Callable[[sqlite3.Connection], None]]] = [
    (
        "0001_core",
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

        CREATE TABLE messages (
            pk INTEGER PRIMARY KEY,
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
            ts TEXT NOT NULL,
            ts_epoch REAL NOT NULL,
            external_id TEXT,
            metadata TEXT NOT NULL DEFAULT '{}',
            content_hash TEXT NOT NULL,
            cell_id TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (space, conversation_id, content_hash),
            UNIQUE (space, conversation_id, seq)
        );
        CREATE INDEX messages_user ON messages (space, user_id);
        CREATE INDEX messages_unassigned ON messages (space, conversation_id, seq)
            WHERE cell_id IS NULL;

        CREATE TABLE memories (
            pk INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            space TEXT NOT NULL,
            kind TEXT NOT NULL,
            user_id TEXT NOT NULL,
            agent_id TEXT,
            conversation_id TEXT NOT NULL,
            session_id TEXT,
            speaker TEXT,
            text TEXT NOT NULL,
            observed_at TEXT NOT NULL,
            event_start TEXT,
            event_end TEXT,
            valid_from TEXT,
            valid_to TEXT,
            t_start REAL NOT NULL,
            t_end REAL NOT NULL,
            status TEXT NOT NULL DEFAULT 'active',
            supersedes TEXT,
            cell_id TEXT,
            scene_id TEXT,
            message_ids TEXT NOT NULL DEFAULT '[]',
            metadata TEXT NOT NULL DEFAULT '{}',
            produced_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX memories_list ON memories (space, user_id, observed_at DESC, id DESC);
        CREATE INDEX memories_conv ON memories (space, conversation_id, kind);
        CREATE INDEX memories_cell ON memories (space, cell_id);
        CREATE INDEX memories_scene ON memories (space, scene_id);

        CREATE TABLE memory_sources (
            memory_pk INTEGER NOT NULL REFERENCES memories (pk) ON DELETE CASCADE,
            message_id TEXT NOT NULL,
            PRIMARY KEY (memory_pk, message_id)
        ) WITHOUT ROWID;
        CREATE INDEX memory_sources_msg ON memory_sources (message_id);

        -- One row per memory that has a vector.  A partition is (space, user): k-NN
        -- reads only the caller's partition; ``generation`` in vector_partitions tells
        -- the in-process cache when rows changed other than by appending.
        CREATE TABLE vectors (
            memory_pk INTEGER PRIMARY KEY REFERENCES memories (pk) ON DELETE CASCADE,
            space TEXT NOT NULL,
            user_id TEXT NOT NULL,
            conversation_id TEXT NOT NULL,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vec BLOB NOT NULL
        );
        CREATE INDEX vectors_tenant ON vectors (space, user_id, conversation_id);
        CREATE INDEX vectors_user ON vectors (space, user_id, memory_pk);
        CREATE TABLE vector_partitions (
            space TEXT NOT NULL,
            user_id TEXT NOT NULL,
            generation INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (space, user_id)
        ) WITHOUT ROWID;

        -- Full text.  ``scope`` holds tenant/kind/status tokens so that a MATCH is
        -- narrowed to the caller's tenant by the index itself; ``body`` is the text,
        -- pre-segmented (Chinese words separated by spaces); porter stems English.
        CREATE VIRTUAL TABLE memories_fts USING fts5 (
            scope, body, tokenize = 'porter unicode61 remove_diacritics 2'
        );

        CREATE TABLE cells (
            id TEXT PRIMARY KEY,
            space TEXT NOT NULL,
            user_id TEXT NOT NULL,
            conversation_id TEXT NOT NULL,
            first_seq INTEGER NOT NULL,
            last_seq INTEGER NOT NULL,
            start_at TEXT NOT NULL,
            end_at TEXT NOT NULL,
            scene_id TEXT,
            status TEXT NOT NULL,
            boundary TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX cells_conv ON cells (space, conversation_id, first_seq);

        CREATE TABLE scenes (
            id TEXT PRIMARY KEY,
            space TEXT NOT NULL,
            user_id TEXT NOT NULL,
            label TEXT NOT NULL,
            size INTEGER NOT NULL,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            centroid BLOB NOT NULL
        );
        CREATE INDEX scenes_user ON scenes (space, user_id, last_at DESC);

        CREATE TABLE history (
            id TEXT PRIMARY KEY,
            space TEXT NOT NULL,
            memory_id TEXT NOT NULL,
            action TEXT NOT NULL,
            actor TEXT NOT NULL,
            at TEXT NOT NULL,
            before TEXT,
            after TEXT
        );
        CREATE INDEX history_memory ON history (space, memory_id, at);

        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            space TEXT NOT NULL,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            dedupe_key TEXT,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL,
            run_after REAL NOT NULL,
            lease_until REAL,
            worker TEXT,
            last_error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX jobs_due ON jobs (status, run_after);
        CREATE INDEX jobs_space ON jobs (space, status);
        CREATE UNIQUE INDEX jobs_dedupe ON jobs (space, dedupe_key)
            WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'running');
        """,
    ),
    (
        "0002_job_usage",
        """
        -- LLM calls and tokens spent by a job (JSON), for cost accounting per job.
        ALTER TABLE jobs ADD COLUMN usage TEXT;
        """,
    ),
    (
        "0003_keys_audit",
        """
        -- API keys: only a SHA-256 of the secret is stored (secrets are 256-bit random).
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            space TEXT NOT NULL,
            name TEXT NOT NULL,
            key_hash TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            users TEXT,
            agents TEXT,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE INDEX api_keys_space ON api_keys (space);
        CREATE TABLE audit (
            id TEXT PRIMARY KEY,
            space TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            at TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX audit_space ON audit (space, at);
        """,
    ),
    ("0004_shared_index_terms", _shared_index_terms),
    (
        "0005_vector_write_order",
        """
        -- The order vectors were written in: the k-NN cache appends what was written since
        -- it last looked, which by memory pk missed a vector set on an older memory after
        -- newer ones were cached (jobs finishing out of order, in any process).
        ALTER TABLE vectors ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
        UPDATE vectors SET seq = memory_pk;
        CREATE INDEX vectors_seq ON vectors (seq);
        CREATE INDEX vectors_user_seq ON vectors (space, user_id, dim, seq);
        """,
    ),
    (
        "0006_job_rerun",
        """
        -- Set when work for a running job's dedupe key arrives (a message added while its
        -- conversation is being segmented): the job then runs again instead of finishing.
        ALTER TABLE jobs ADD COLUMN rerun INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    (
        "0007_supersedes_index",
        """
        -- recall asks which memories replaced its candidates (validity at recall)
        CREATE INDEX memories_supersedes ON memories (space, supersedes) WHERE supersedes IS NOT NULL;
        """,
    ),
    (
        "0008_entities",
        """
        -- The entity graph: who and what memories mention, one entity per user and
        -- normalised name; links go with their memory (cascade), and an entity no memory
        -- mentions any more is deleted by the store (its name is text of what went).
        CREATE TABLE entities (
            pk INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            space TEXT NOT NULL,
            user_id TEXT NOT NULL,
            key TEXT NOT NULL,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            aliases TEXT NOT NULL DEFAULT '[]',
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            UNIQUE (space, user_id, key)
        );
        CREATE TABLE entity_aliases (
            entity_pk INTEGER NOT NULL REFERENCES entities (pk) ON DELETE CASCADE,
            space TEXT NOT NULL,
            user_id TEXT NOT NULL,
            alias TEXT NOT NULL,
            PRIMARY KEY (entity_pk, alias)
        ) WITHOUT ROWID;
        CREATE INDEX entity_aliases_name ON entity_aliases (space, user_id, alias);
        CREATE TABLE memory_entities (
            memory_pk INTEGER NOT NULL REFERENCES memories (pk) ON DELETE CASCADE,
            entity_pk INTEGER NOT NULL REFERENCES entities (pk) ON DELETE CASCADE,
            PRIMARY KEY (memory_pk, entity_pk)
        ) WITHOUT ROWID;
        CREATE INDEX memory_entities_entity ON memory_entities (entity_pk, memory_pk);
        """,
    ),
    (
        "0010_pii_vault",
        """
        -- PII kept encrypted (vault mode): the stored text carries a typed token, the
        -- original is here, encrypted by the deployment's vault key; rows go with their
        -- conversation when it is forgotten.
        CREATE TABLE pii_vault (
            space TEXT NOT NULL,
            user_id TEXT NOT NULL,
            conversation_id TEXT NOT NULL,
            token TEXT NOT NULL,
            kind TEXT NOT NULL,
            ciphertext BLOB NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (space, conversation_id, token)
        ) WITHOUT ROWID;
        CREATE INDEX pii_vault_user ON pii_vault (space, user_id);
        """,
    ),
    (
        "0011_shares_and_mounts",
        """
        -- A space's admin shares its memory (or a user's or agent's) with another space,
        -- whose admin mounts it read-only under a name; revoking stops it at once.
        CREATE TABLE shares (
            id TEXT PRIMARY KEY,
            space TEXT NOT NULL,
            name TEXT NOT NULL,
            to_space TEXT NOT NULL,
            user_id TEXT,
            agent_id TEXT,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE INDEX shares_space ON shares (space);
        CREATE INDEX shares_to_space ON shares (to_space);
        CREATE TABLE mounts (
            space TEXT NOT NULL,
            name TEXT NOT NULL,
            share_id TEXT NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            PRIMARY KEY (space, name)
        ) WITHOUT ROWID;
        CREATE INDEX mounts_share ON mounts (share_id);
        """,
    ),
    (
        "0012_space_listing_index",
        """
        -- Listing a whole space newest first (a space's cube export, a console page with
        -- no user chosen) sorted every memory of the space for each page (PostgreSQL has
        -- had this index from its first migration).
        CREATE INDEX memories_space_list ON memories (space, observed_at DESC, id DESC);
        """,
    ),
]
