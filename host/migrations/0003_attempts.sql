-- Every check a learner ran: the verdict as the judge gave it and the
-- capability calls it made, so a disputed grade can be replayed exactly.
CREATE TABLE attempts (
    id             TEXT PRIMARY KEY,
    session_id     TEXT NOT NULL,
    owner          TEXT NOT NULL,
    lab            TEXT NOT NULL,
    task           TEXT NOT NULL,
    status         TEXT NOT NULL,
    verdict        TEXT NOT NULL,
    recording      TEXT NOT NULL,
    plugin         TEXT,
    plugin_version TEXT,
    duration_us    BIGINT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX attempts_session ON attempts (session_id, task, created_at);
CREATE INDEX attempts_owner ON attempts (owner, lab);
