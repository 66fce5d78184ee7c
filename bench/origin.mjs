// The demo origin in its own process, so that its CPU is not the load generator's: `npm run bench`
// starts it and reads the port it bound from the first line it prints.
import { createDemoOrigin } from "../examples/demo-origin.mjs";

const origin = createDemoOrigin();
const port = await origin.listen(0, "127.0.0.1");
process.stdout.write(JSON.stringify({ port }) + "\n");
process.on("SIGTERM", () => origin.close().then(() => process.exit(0)));
