-- Refusals by problem code (CONTRACT §9 dashboard: "refusals by code"), per rollup row. Written
-- by the same watermark-guarded flush batch as usage_rollups, so they are counted exactly once.
CREATE TABLE usage_refusals (
  tenant TEXT NOT NULL,
  surface TEXT NOT NULL,
  granularity TEXT NOT NULL,
  period_start TEXT NOT NULL,
  code TEXT NOT NULL,
  count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, surface, granularity, period_start, code)
);
