// The `tollgate` command (CONTRACT §9): global options, the command groups of cli/commands, and
// the one place that turns every outcome into an exit code — 0 ok, 1 refused or failed, 2 usage.
import { join } from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { AdminClient } from "./client";
import { commandGroups } from "./commands";
import { DEFAULT_URL, resolveToken, urlProblem } from "./config";
import type { CliContext, GlobalOptions } from "./context";
import { CommandFailure, ProblemAnswer, Unreachable } from "./errors";
import { readIfPresent } from "./files";
import { Output, type Streams } from "./output";
import { problemLines } from "./problems";

export const VERSION = "0.1.0";

const processStreams: Streams = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

export interface RunOptions {
  streams?: Streams;
  /** Where to look for .dev.vars (the project's folder when run from it). */
  cwd?: string;
}

export function buildProgram(streams: Streams, cwd: string): { program: Command; ctx: CliContext } {
  const program = new Command("tollgate");
  let client: AdminClient | undefined;
  let token: ReturnType<typeof resolveToken> | undefined;
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  const resolvedToken = () => (token ??= resolveToken(globals().token, globals().url, () => readIfPresent(join(cwd, ".dev.vars"))));
  const ctx: CliContext = {
    globals,
    out: () => new Output(globals().json === true, streams),
    client: () => (client ??= new AdminClient(globals().url, resolvedToken().token)),
    tokenSource: () => resolvedToken().from,
  };

  program
    .description("Operate a Tollgate gateway: catalogs, tenants, keys, limits, grants, usage, statements, audit")
    .version(VERSION)
    // exitOverride is inherited by every command added below, so commander throws instead of exiting.
    .exitOverride()
    .configureOutput({ writeOut: streams.out, writeErr: streams.err })
    .showSuggestionAfterError()
    .addOption(
      new Option("--url <url>", "the gateway's base URL")
        .env("TOLLGATE_URL")
        .default(DEFAULT_URL)
        .argParser((url: string) => {
          const problem = urlProblem(url);
          if (problem) throw new InvalidArgumentError(problem);
          return url;
        }),
    )
    .addOption(new Option("--token <token>", "admin token (for a localhost gateway, default: ADMIN_TOKEN of ./.dev.vars)").env("TOLLGATE_ADMIN_TOKEN"))
    .option("--json", "print the API's JSON answers as they are, for machines");

  for (const group of commandGroups) group(program, ctx);
  return { program, ctx };
}

/** Runs the command line (without the node and script arguments); answers the exit code. */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<number> {
  const streams = options.streams ?? processStreams;
  // `TOLLGATE_URL=` (set but empty) means unset, as in most shells' idiom, not an invalid URL.
  for (const name of ["TOLLGATE_URL", "TOLLGATE_ADMIN_TOKEN"]) if (process.env[name] === "") delete process.env[name];
  const { program, ctx } = buildProgram(streams, options.cwd ?? process.cwd());
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    return exitCodeOf(error, ctx, streams);
  }
}

function exitCodeOf(error: unknown, ctx: CliContext, streams: Streams): number {
  const err = (line: string) => streams.err(`${line}\n`);
  if (error instanceof CommanderError) {
    // Commander has printed its message already; --help and --version are successes.
    return error.code === "commander.helpDisplayed" || error.code === "commander.version" ? 0 : 2;
  }
  if (error instanceof ProblemAnswer) {
    // Machines get the problem document on stdout as well; people get one line on stderr.
    if (ctx.globals().json === true && error.problem !== null) streams.out(error.text.endsWith("\n") ? error.text : `${error.text}\n`);
    for (const line of problemLines(error)) err(line);
    if (error.status === 401 && ctx.tokenSource() === "none") err("  no admin token was sent: give --token or set TOLLGATE_ADMIN_TOKEN");
    return 1;
  }
  if (error instanceof Unreachable) {
    err(`error: ${error.message}`);
    return 1;
  }
  if (error instanceof CommandFailure) {
    err(`error: ${error.message}`);
    for (const line of error.details) err(line);
    return error.exitCode;
  }
  err(`error: unexpected failure (a bug in tollgate): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return 1;
}
