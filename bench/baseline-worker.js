// The benchmark's baseline: a Worker that forwards every request to ORIGIN_URL and does nothing
// else, run under the same `wrangler dev` as the gateway. Tollgate ÷ this = Tollgate's own cost.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.ORIGIN_URL.replace(/\/+$/, "") + url.pathname + url.search, {
      method: request.method,
      headers: request.headers,
      body: request.body,
    });
  },
};
