-- Outcomes reported after the fact (CONTRACT §11): units that arrived by report, in the hour of
-- their time; and reports find their originating request by its id alone.
ALTER TABLE usage_rollups ADD COLUMN reported INTEGER NOT NULL DEFAULT 0;
CREATE INDEX usage_requests_request ON usage_requests (request_id);
