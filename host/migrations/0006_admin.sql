-- Settings an administrator changes at run time (limits, disabled labs),
-- shared by every replica: a key and its JSON value.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A learner's own session cap, over the server's default.
ALTER TABLE users ADD COLUMN max_sessions BIGINT;

-- OpenID Connect identities: the issuer's subject, bound to one user.
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX users_oidc_subject ON users (oidc_subject);

-- Instructor-led workshops: a lab, seats, a join code, an expiry.
CREATE TABLE workshops (
    id         TEXT PRIMARY KEY,
    code       TEXT NOT NULL,
    lab        TEXT NOT NULL,
    title      TEXT NOT NULL,
    seats      BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at   BIGINT
);
CREATE UNIQUE INDEX workshops_code ON workshops (code);

-- A seat taken by a learner; freed seats keep their row with freed_at set.
CREATE TABLE workshop_seats (
    workshop_id TEXT NOT NULL REFERENCES workshops (id),
    seat        BIGINT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    name        TEXT NOT NULL,
    session_id  TEXT,
    joined_at   BIGINT NOT NULL,
    freed_at    BIGINT
);
CREATE INDEX workshop_seats_workshop ON workshop_seats (workshop_id, freed_at);
-- One learner per seat, even when two replicas seat two learners at once.
CREATE UNIQUE INDEX workshop_seats_taken ON workshop_seats (workshop_id, seat) WHERE freed_at IS NULL;

-- Single sign-on attempts under way: what the callback must match (the
-- state), prove (the PKCE verifier) and find in the ID token (the nonce).
CREATE TABLE oidc_logins (
    state      TEXT PRIMARY KEY,
    verifier   TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    return_to  TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
