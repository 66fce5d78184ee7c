// The e2e project runs the real `tollgate` binary, which loads build/tollgate.mjs: build it from
// the current cli/ and src/ first (`npm install` builds it too, but the sources may have changed since).
import { execFileSync } from "node:child_process";

export default function setup() {
  execFileSync(process.execPath, ["scripts/build-cli.mjs"], { stdio: "inherit" });
}
