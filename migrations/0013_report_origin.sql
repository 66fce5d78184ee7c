-- The originating request of an accepted outcome report (CONTRACT §11): a report's row in
-- usage_requests (request_id "report:<id>", outcome reported) names the forwarded request it was
-- about, when the report named one, so its CloudEvent (`tollgate.usage.reported`) can carry it as
-- data.requestId. Null for every other row.
ALTER TABLE usage_requests ADD COLUMN origin_request TEXT;
