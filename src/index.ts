// Worker entry: the app and the Durable Object class (CONTRACT §1).
import { createApp } from "./app";

export { TenantLimiter } from "./limiter/tenant-limiter";

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
