-- Leased admission (CONTRACT §6): permits whose holder never reported them.
ALTER TABLE usage_rollups ADD COLUMN unreported INTEGER NOT NULL DEFAULT 0;
