// The gateway's own pure code, imported from src/ so the simulation exercises what runs in
// production instead of a re-implementation. Node 24 strips the TypeScript types; src/ imports
// have no file extensions (the Worker is bundled), so a resolve hook, registered only for
// specifiers from files under src/, tries `<specifier>.ts` when Node finds nothing.
import * as nodeModule from "node:module";

const { registerHooks } = nodeModule;
if (typeof registerHooks !== "function") {
  throw new Error(`the simulation needs Node 24 (module.registerHooks, TypeScript type stripping), the project's pinned node; this is ${process.version}: run it with \`npm run simulate:leases\`, which uses the project's pinned Node`);
}

const srcUrl = new URL("../src/", import.meta.url).href;

registerHooks({
  resolve(specifier, context, nextResolve) {
    const fromSrc = context.parentURL?.startsWith(srcUrl) ?? false;
    if (!fromSrc || !(specifier.startsWith("./") || specifier.startsWith("../"))) return nextResolve(specifier, context);
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (error?.code !== "ERR_MODULE_NOT_FOUND") throw error;
      return nextResolve(`${specifier}.ts`, context);
    }
  },
});

const { leaseTermsOf, sizeLease, REPORT_GRACE_MS } = await import("../src/limiter/leases.ts");
const { decide } = await import("../src/limiter/decide.ts");
const { chargeFor } = await import("../src/pricing/charge.ts");
const { PlanSurface } = await import("../src/catalog/schema.ts");

/**
 * What the limiter model decides with (`decide` takes from the bucket with token-bucket.ts's `take`,
 * `sizeLease` with its `refill`). A run takes it as an argument, so check-oracle.mjs can hand it a broken copy.
 */
export const limiterCode = { leaseTermsOf, sizeLease, decide, chargeFor };

export { REPORT_GRACE_MS, PlanSurface };
