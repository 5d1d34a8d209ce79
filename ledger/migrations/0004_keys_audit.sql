-- Gateway keys issued by the governor. Only the SHA-256 of the secret is stored (64 lowercase hex
-- digits); the public prefix finds the row, the caller compares hashes in constant time.
CREATE TABLE gateway_keys (
  id text PRIMARY KEY,
  prefix text NOT NULL UNIQUE,
  secret_hash text NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
  team text,
  role text NOT NULL CHECK (role IN ('org-admin', 'team-admin', 'member', 'viewer')),
  name text NOT NULL,
  models text[],
  expires_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  last_used_at timestamptz,
  CHECK (role <> 'org-admin' OR team IS NULL),
  CHECK (role <> 'team-admin' OR team IS NOT NULL)
);

CREATE INDEX gateway_keys_team ON gateway_keys (team);

-- Append-only audit log of administrative changes.
CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  target text NOT NULL,
  before jsonb,
  after jsonb
);

CREATE INDEX audit_log_target ON audit_log (target, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
