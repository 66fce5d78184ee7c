// Worker entry: the app, the daily retention job and the Durable Object class (CONTRACT §1).
import { asProblem, createApp } from "./app";
import { systemClock } from "./clock";
import { serveGateway } from "./gateway";
import { purgeExpiredRollups } from "./metering/retention";
import { renderProblem } from "./problems";

export { TenantLimiter } from "./limiter/tenant-limiter";
export { WebhookHub } from "./webhooks/hub";

const app = createApp();

/** The path of a request URL without parsing it all: the entry only needs to tell /_tollgate/ apart. */
const pathOf = (url: string) => url.slice(url.indexOf("/", url.indexOf("//") + 2));

/** Every path outside /_tollgate/ goes to the gateway directly: a router has nothing to choose there (issue 15). */
async function gateway(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const requestId = crypto.randomUUID();
  try {
    return await serveGateway({ env, request, clock: systemClock, requestId, waitUntil: (p) => ctx.waitUntil(p) });
  } catch (error) {
    const p = asProblem(error);
    if (!p.headers.has("Tollgate-Request-Id")) p.headers.set("Tollgate-Request-Id", requestId);
    return renderProblem(p);
  }
}

export default {
  fetch: (request, env, ctx) => (pathOf(request.url).startsWith("/_tollgate/") ? app.fetch(request, env, ctx) : gateway(request, env, ctx)),
  scheduled: async (controller, env) => {
    const purged = await purgeExpiredRollups(env.DB, controller.scheduledTime);
    console.log("retention: purged rollup rows", purged);
  },
} satisfies ExportedHandler<Env>;
