// Where the CLI finds its gateway and admin token: flags, then environment variables, then (for
// a gateway on this machine only) the ADMIN_TOKEN of the project's .dev.vars, as `npm start` uses.
// Pure: the caller reads the files.

export const DEFAULT_URL = "http://localhost:8787";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

export const isLoopback = (url: string) => {
  try {
    return LOOPBACK.has(new URL(url).hostname);
  } catch {
    return false;
  }
};

/** ADMIN_TOKEN from the text of a .dev.vars file (dotenv syntax: KEY=value, optional quotes, # comments). */
export function adminTokenOf(devVars: string): string | undefined {
  for (const line of devVars.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?ADMIN_TOKEN\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    const value = m[1]!.replace(/^(["'])(.*)\1$/, "$2");
    return value === "" ? undefined : value;
  }
  return undefined;
}

/**
 * The token to send: `--token`/TOLLGATE_ADMIN_TOKEN (commander has merged those), else the local
 * .dev.vars token when the gateway is on a loopback address — never sent to another host.
 */
export function resolveToken(given: string | undefined, url: string, readDevVars: () => string | undefined): { token: string | undefined; from: "option" | "dev-vars" | "none" } {
  if (given) return { token: given, from: "option" };
  if (!isLoopback(url)) return { token: undefined, from: "none" };
  const text = readDevVars();
  const token = text === undefined ? undefined : adminTokenOf(text);
  return token ? { token, from: "dev-vars" } : { token: undefined, from: "none" };
}

/** `--url` must be an absolute http(s) URL; answers the message for a usage error, or null. */
export function urlProblem(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:" ? null : `"${url}" is not an http(s) URL`;
  } catch {
    return `"${url}" is not a URL`;
  }
}
