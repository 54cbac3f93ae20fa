// `twdne serve`: previews OUT/site on a local port until Ctrl-C.
import type { CommandModule } from "yargs";
import path from "node:path";
import { stat } from "node:fs/promises";
import { badInput, describeValue } from "../errors.ts";
import { start } from "../serve/static-server.ts";

interface ServeArgs {
  out?: unknown;
  port?: unknown;
  host?: unknown;
}

function parsePort(value: unknown): number {
  const text = typeof value === "number" ? String(value) : value;
  if (
    typeof text !== "string" ||
    !/^[0-9]{1,5}$/.test(text) ||
    Number(text) > 65535
  ) {
    throw badInput(
      "--port",
      "a whole number from 0 to 65535 (0 picks a free port)",
      typeof value === "string" ? value : describeValue(value),
    );
  }
  return Number(text);
}

async function parseSiteFolder(value: unknown): Promise<string> {
  const expected = "a folder holding a rendered site/ (see twdne site)";
  if (typeof value !== "string" || value.trim() === "") {
    throw badInput(
      "--out",
      expected,
      typeof value === "string" ? value : describeValue(value),
    );
  }
  const folder = path.join(value, "site");
  const info = await stat(folder).catch(() => null);
  if (!info?.isDirectory())
    throw badInput("--out", expected, `${value} (no site/ folder)`);
  return folder;
}

const serve: CommandModule<object, ServeArgs> = {
  command: "serve",
  describe: "Preview OUT/site over HTTP on this machine",
  builder: (yargs) =>
    yargs
      .option("out", {
        type: "string",
        describe: "Folder holding the rendered site/",
      })
      .option("port", {
        type: "string",
        default: "8080",
        describe: "Port; 0 picks a free one",
      })
      .option("host", {
        type: "string",
        default: "127.0.0.1",
        describe: "Address to listen on",
      }),
  handler: async (argv) => {
    const folder = await parseSiteFolder(argv.out);
    const port = parsePort(argv.port);
    if (typeof argv.host !== "string" || argv.host.trim() === "") {
      throw badInput(
        "--host",
        "an address such as 127.0.0.1",
        describeValue(argv.host),
      );
    }
    const server = await start(folder, port, argv.host).catch(
      (error: NodeJS.ErrnoException) => {
        if (
          error.code === "EADDRINUSE" ||
          error.code === "EACCES" ||
          error.code === "EADDRNOTAVAIL"
        ) {
          throw badInput(
            "--port",
            "a port this machine lets us listen on",
            `${port} at ${argv.host} (${error.code})`,
          );
        }
        throw error;
      },
    );
    process.stdout.write(`${server.url}\n`);
    process.stderr.write(`serve: ${folder} at ${server.url}; Ctrl-C stops\n`);
    // The command lasts until the first interrupt, then closes the server cleanly.
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await server.close();
  },
};

export default serve;
