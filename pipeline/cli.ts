// The twdne command line: parses and validates flags, then hands off to a stage.
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { UserError } from "./errors.ts";
import type { CommandModule } from "yargs";
import faces from "./commands/faces.ts";
import inspect from "./commands/inspect.ts";
import site from "./commands/site.ts";
import serve from "./commands/serve.ts";
import images from "./commands/images.ts";
import sheet from "./commands/sheet.ts";
import snippets from "./commands/snippets.ts";

const commands: CommandModule<any, any>[] = [
  faces,
  images,
  sheet,
  snippets,
  inspect,
  site,
  serve,
];

/** Runs the CLI on argv and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let failed = false;
  const parser = yargs(argv)
    .scriptName("twdne")
    .strict()
    .parserConfiguration({ "duplicate-arguments-array": false })
    .demandCommand(1, "Choose a command; see twdne --help.")
    .recommendCommands()
    .wrap(Math.min(100, process.stderr.columns || 100))
    .fail((message, error) => {
      failed = true;
      reportFailure(message, error);
    });
  for (const command of commands) parser.command(command);
  try {
    await parser.parseAsync();
  } catch (error) {
    if (!failed) reportFailure("", error as Error);
    failed = true;
  }
  return failed ? 2 : ((process.exitCode as number | undefined) ?? 0);
}

function reportFailure(message: string, error?: Error): void {
  if (error && !(error instanceof UserError)) {
    process.stderr.write(`twdne: ${error.stack ?? error.message}\n`);
    return;
  }
  process.stderr.write(`twdne: ${error?.message ?? message}\n`);
  if (!error) process.stderr.write("Run twdne --help for usage.\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(hideBin(process.argv));
}
