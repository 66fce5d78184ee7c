-- Shadow rules (issue 12): requests a plan surface with `"enforce": "shadow"` forwarded although a
-- limit (concurrency, rate, quota) would have refused them.
ALTER TABLE usage_rollups ADD COLUMN shadow_refusals INTEGER NOT NULL DEFAULT 0;
