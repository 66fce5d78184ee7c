// Starts the demo origin on a loopback port for the whole run; tests reach it as ORIGIN_URL.
import type { TestProject } from "vitest/node";
// @ts-expect-error -- plain ESM module without types
import { createDemoOrigin } from "../examples/demo-origin.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    originPort: number;
  }
}

export default async function setup(project: TestProject) {
  const origin = createDemoOrigin();
  const port: number = await origin.listen(0);
  project.provide("originPort", port);
  return () => origin.close();
}
