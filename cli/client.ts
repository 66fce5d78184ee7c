// HTTP to a running gateway's admin API (`/_tollgate/admin`). Every non-2xx answer becomes a
// ProblemAnswer and every failure to connect an Unreachable, so commands handle only success.
import { type Problem, ProblemAnswer, Unreachable } from "./errors";

export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  /** Parsed JSON, or null for an empty or non-JSON body. */
  body: T;
  /** The body as received, which `--json` prints as is. */
  text: string;
}

export interface CallOptions {
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON unless `raw` is given. */
  json?: unknown;
  /** A body sent exactly as given (a catalog file as the user wrote it). */
  raw?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export class AdminClient {
  readonly base: string;

  constructor(
    url: string,
    private readonly token: string | undefined,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.base = url.replace(/\/+$/, "");
  }

  /** The full URL of an admin path, with the query's defined members. */
  urlOf(path: string, query: CallOptions["query"] = {}): string {
    const url = new URL(`${this.base}/_tollgate/admin${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.toString();
  }

  async call<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<Answer<T>> {
    const url = this.urlOf(path, options.query);
    const body = options.raw ?? (options.json === undefined ? undefined : JSON.stringify(options.json));
    const headers: Record<string, string> = {
      Accept: "application/json, application/problem+json, text/csv;q=0.9",
      ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
      ...(body === undefined ? {} : { "Content-Type": options.contentType ?? "application/json" }),
      ...options.headers,
    };
    let res: Response;
    try {
      res = await this.fetchImpl(url, { method, headers, ...(body === undefined ? {} : { body }) });
    } catch (error) {
      throw new Unreachable(this.base, reasonOf(error));
    }
    const text = await res.text();
    const parsed = parseBody(text, res.headers.get("Content-Type"));
    if (!res.ok) throw new ProblemAnswer(res.status, isProblem(parsed) ? parsed : null, text);
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }
}

function parseBody(text: string, contentType: string | null): unknown {
  if (text === "" || !/json/i.test(contentType ?? "")) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

const isProblem = (v: unknown): v is Problem => typeof v === "object" && v !== null && !Array.isArray(v) && ("type" in v || "title" in v);

/** fetch's TypeError hides the reason (ECONNREFUSED, ENOTFOUND) in `cause`. */
function reasonOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error);
}
