-- IP allowlists (CIDR blocks, JSON array; empty allows every address): an organization's
-- applies to every request made for it; an API key's narrows that key further.
ALTER TABLE organizations ADD COLUMN ip_allowlist TEXT NOT NULL DEFAULT '[]';
ALTER TABLE api_keys ADD COLUMN ip_allowlist TEXT NOT NULL DEFAULT '[]';
