-- Transcripts (what the caller said and the agent answered, `vc_turns`) are personal data
-- kept for `voice.transcript_retention_days` (90 by default) after a call started; then a
-- job deletes them and marks the call. The call itself (outcome, agreed rate, summary)
-- stays as the brokerage's business record.
ALTER TABLE vc_calls ADD COLUMN transcript_purged_at TEXT;
CREATE INDEX vc_calls_transcript_kept ON vc_calls (started_at) WHERE transcript_purged_at IS NULL;
