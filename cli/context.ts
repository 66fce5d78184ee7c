// What every command group receives: the global options resolved, the admin client (created on
// first use, so offline commands never need a gateway) and the output.
import type { Command } from "commander";
import { AdminClient } from "./client";
import { Output } from "./output";

export interface GlobalOptions {
  url: string;
  token?: string;
  json: boolean;
}

export interface CliContext {
  globals(): GlobalOptions;
  client(): AdminClient;
  out(): Output;
  /** Where the admin token came from, to explain a 401. */
  tokenSource(): "option" | "dev-vars" | "none";
}

/** A command group: one file under cli/commands that adds its commands to the program. */
export type CommandGroup = (program: Command, ctx: CliContext) => void;
