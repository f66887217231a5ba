-- People and the tokens they present. A guest is a learner known only by
-- the token their browser holds; accounts with passwords come later and
-- live in the same table.
CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    role       TEXT NOT NULL,
    name       TEXT,
    created_at BIGINT NOT NULL
);

-- Tokens are stored as SHA-256 digests: a leaked database holds no usable token.
CREATE TABLE tokens (
    digest       TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    kind         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX tokens_user ON tokens (user_id);
