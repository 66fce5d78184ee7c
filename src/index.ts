// Worker entry: the app, the daily retention job and the Durable Object class (CONTRACT §1).
import { createApp } from "./app";
import { purgeExpiredRollups } from "./metering/retention";

export { TenantLimiter } from "./limiter/tenant-limiter";

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  scheduled: async (controller, env) => {
    const purged = await purgeExpiredRollups(env.DB, controller.scheduledTime);
    console.log("retention: purged rollup rows", purged);
  },
} satisfies ExportedHandler<Env>;
