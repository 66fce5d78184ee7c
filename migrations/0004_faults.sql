-- Trustworthy under faults (issue 8).
-- A tenant's revision orders the writes of its state into its limiter: the limiter keeps the
-- highest revision it has seen, so two admin writes racing each other cannot leave it behind D1.
ALTER TABLE tenants ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;

-- Rollup fields: `failed` counts requests the origin failed (≥ 500, unreachable, timed out,
-- dropped mid-body, an invalid status): not charged. `unsettled` counts admissions the limiter
-- settled itself at the end of their lease (CONTRACT §6).
ALTER TABLE usage_rollups ADD COLUMN failed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_rollups ADD COLUMN unsettled INTEGER NOT NULL DEFAULT 0;
