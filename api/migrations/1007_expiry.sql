-- Expired sign-in nonces and sessions are deleted every minute (housekeeping.rs): by these.
CREATE INDEX auth_nonces_expiry ON auth_nonces (expires_at);
CREATE INDEX sessions_expiry ON sessions (expires_at);
