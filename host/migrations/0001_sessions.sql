-- Sessions, the queue of learners waiting for capacity, and saved workspaces.
-- Instants are milliseconds since the Unix epoch.
CREATE TABLE sessions (
    id               TEXT PRIMARY KEY,
    lab              TEXT NOT NULL,
    owner            TEXT,
    phase            TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    started_at       BIGINT,
    expires_at       BIGINT,
    last_activity_at BIGINT NOT NULL,
    extensions       BIGINT NOT NULL DEFAULT 0,
    ended_at         BIGINT,
    end_reason       TEXT,
    error            TEXT,
    version          BIGINT NOT NULL
);
CREATE INDEX sessions_phase ON sessions (phase);
CREATE INDEX sessions_owner ON sessions (owner, phase);

CREATE TABLE session_queue (
    owner        TEXT PRIMARY KEY,
    lab          TEXT NOT NULL,
    enqueued_at  BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);

CREATE TABLE workspaces (
    owner      TEXT NOT NULL,
    lab        TEXT NOT NULL,
    archive    {blob} NOT NULL,
    size_bytes BIGINT NOT NULL,
    saved_at   BIGINT NOT NULL,
    PRIMARY KEY (owner, lab)
);
