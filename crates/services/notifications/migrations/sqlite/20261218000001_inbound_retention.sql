-- Texts received are personal data (a number and what its owner wrote): kept for
-- `notifications.inbound_text_retention_days` (90 by default), then an hourly job empties
-- the number and the text. The provider's message id and the outcome stay, so a late
-- retry of the same message is still recognised.
CREATE INDEX nt_inbound_kept ON nt_inbound (received_at) WHERE phone <> '';
