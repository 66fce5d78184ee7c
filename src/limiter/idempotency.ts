// Idempotency records of CONTRACT §3 (IETF httpapi Idempotency-Key draft), kept per tenant in the
// limiter's SQLite storage for 24 hours.

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** Responses with larger bodies are not stored: the key is released and a retry is forwarded. */
export const IDEMPOTENCY_BODY_CAP = 1024 * 1024;

export interface IdempotencyClaim {
  key: string;
  /** SHA-256 of method, path with query and the SHA-256 of the body. */
  fingerprint: string;
}

export interface StoredResponse {
  status: number;
  statusText: string;
  headers: string[][]; // [name, value] pairs
  body: ArrayBuffer;
}

export const IDEMPOTENCY_SCHEMA = `
CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, admission_id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('in-flight', 'done')),
  status INTEGER, status_text TEXT, headers TEXT, body BLOB,
  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency (expires_at);
`;

export interface IdempotencyRow extends Record<string, SqlStorageValue> {
  key: string;
  fingerprint: string;
  admission_id: string;
  state: "in-flight" | "done";
  status: number | null;
  status_text: string | null;
  headers: string | null;
  body: ArrayBuffer | null;
  expires_at: number;
}

export type IdempotencyVerdict =
  | { kind: "new" }
  | { kind: "replay"; response: StoredResponse }
  | { kind: "in-use" }
  | { kind: "reused" };

export function verdictOf(row: IdempotencyRow | undefined, claim: IdempotencyClaim, now: number): IdempotencyVerdict {
  if (!row || row.expires_at <= now) return { kind: "new" };
  if (row.fingerprint !== claim.fingerprint) return { kind: "reused" };
  if (row.state === "in-flight") return { kind: "in-use" };
  return {
    kind: "replay",
    response: {
      status: row.status ?? 200,
      statusText: row.status_text ?? "",
      headers: JSON.parse(row.headers ?? "[]") as string[][],
      body: row.body ?? new ArrayBuffer(0),
    },
  };
}
