// Catalogs the tests load. Kept small: each test file adds what it needs.
import type { CatalogInput } from "../../src/catalog/schema";

export const basicCatalog = {
  currency: "USD",
  surfaces: {
    "events.feed": {
      routes: ["GET /v1/events", "GET /v1/events/:id"],
      meter: { unit: "event", count: { from: "response-header", name: "Events-Delivered" } },
    },
    "records.write": { routes: ["POST /v1/records"], meter: { unit: "record", count: { from: "json-array", pointer: "/records" } } },
    "bulk.export": { routes: ["POST /v1/exports"], meter: { unit: "job" } },
    "sync.pull": { routes: ["GET /v1/sync/*"], meter: { unit: "byte", count: { from: "response-bytes" } } },
    echo: { routes: ["* /echo/*"] },
  },
  plans: {
    free: {
      surfaces: {
        "events.feed": { rule: "included", rate: { limit: 10, window: 1 }, quota: { limit: 10000, period: "month" } },
        "records.write": { rule: "metered", rate: { limit: 5, window: 1, burst: 10 }, quota: { limit: 5000, period: "day", overage: "block" }, price: { unit: "0.001" } },
        "bulk.export": { rule: "prohibited" },
        "sync.pull": { rule: "premium", price: { unit: "0.000001" }, concurrency: 2 },
        echo: { rule: "metered", price: { unit: "0.01" } },
      },
    },
  },
} satisfies CatalogInput;
