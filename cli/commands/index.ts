// Every command group, in the order `tollgate --help` lists them. A new group is one file under
// cli/commands and one line here.
import type { CommandGroup } from "../context";
import { auditCommands } from "./audit";
import { catalogCommands } from "./catalog";
import { grantCommands } from "./grants";
import { keyCommands } from "./keys";
import { limitCommands } from "./limits";
import { recommendationCommands } from "./recommendations";
import { statementCommands } from "./statements";
import { tenantCommands } from "./tenants";
import { tokenCommands } from "./tokens";
import { usageCommands } from "./usage";

export const commandGroups: readonly CommandGroup[] = [catalogCommands, tenantCommands, keyCommands, limitCommands, grantCommands, usageCommands, recommendationCommands, statementCommands, auditCommands, tokenCommands];
