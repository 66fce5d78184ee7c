// Report outcomes known after the response to Tollgate (docs/reporting.md), with plain fetch.
// Node 18+, Deno, Bun and Workers alike. Give it the gateway's URL and an admin token with the
// scope "report" (never the root token): the token can do nothing else.

/**
 * The event for a finished job. Its id comes from the job, never from the attempt: however often
 * this report is sent (a retry, a crash and a restart), the gateway counts it once.
 */
export function jobEvent(job) {
  return {
    id: `export:${job.id}`,
    units: job.rows,
    requestId: job.requestId, // the Tollgate-Request-Id header of the request that started the job
    time: job.finishedAt ?? undefined, // when the work happened; defaults to the request's time
  };
}

/**
 * Sends events in batches of at most 1000 and answers the sum of the gateway's answers:
 * { accepted, duplicates: [id], rejected: [{ id, code, detail }] }. A failure to connect, a 429 or
 * a 5xx is retried (the same ids: safe); any other non-200 answer is thrown, since sending the
 * same batch again would be refused the same way.
 */
export async function reportUsage(events, { url, token, attempts = 5, fetch: fetchImpl = fetch } = {}) {
  const total = { accepted: 0, duplicates: [], rejected: [] };
  for (let i = 0; i < events.length; i += 1000) {
    const body = JSON.stringify({ events: events.slice(i, i + 1000) });
    for (let attempt = 1; ; attempt++) {
      let res;
      try {
        res = await fetchImpl(`${url}/_tollgate/admin/usage/reports`, {
          method: "POST",
          headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
          body,
        });
      } catch (error) {
        if (attempt >= attempts) throw error;
        await new Promise((r) => setTimeout(r, 2 ** attempt * 250));
        continue;
      }
      if (res.ok) {
        const answer = await res.json();
        total.accepted += answer.accepted;
        total.duplicates.push(...answer.duplicates);
        total.rejected.push(...answer.rejected);
        break;
      }
      const text = await res.text();
      if ((res.status === 429 || res.status >= 500) && attempt < attempts) {
        await new Promise((r) => setTimeout(r, 2 ** attempt * 250));
        continue;
      }
      throw new Error(`usage report: ${res.status} ${text}`);
    }
  }
  return total;
}
