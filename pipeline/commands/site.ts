// `twdne site`: renders the pages into OUT/site for the ids found there or given.
import type { CommandModule } from "yargs";
import { badInput } from "../errors.ts";
import { renderSite } from "../site/render-site.ts";
import { countIds, describeRanges } from "../site/id-ranges.ts";
import {
  parseCount,
  parseIds,
  parseOut,
  parsePrefix,
} from "../site/site-flags.ts";

interface SiteArgs {
  out?: unknown;
  count?: unknown;
  ids?: unknown;
  prefix?: unknown;
}

const site: CommandModule<object, SiteArgs> = {
  command: "site",
  describe: "Render the pages into OUT/site with the ids and prefix baked in",
  builder: (yargs) =>
    yargs
      .option("out", {
        type: "string",
        describe:
          "Folder holding site/ with example-<id>.jpg and snippet-<id>.txt",
      })
      .option("count", {
        type: "string",
        describe: "Show ids 0..N-1 instead of the pairs found in OUT/site",
      })
      .option("ids", {
        type: "string",
        describe: "Show these ids instead, e.g. 0-99,150,200-299",
      })
      .option("prefix", {
        type: "string",
        describe:
          "Folder under site/ holding this generation's files, e.g. v2/",
      }),
  handler: async (argv) => {
    const out = parseOut(argv.out);
    const prefix = parsePrefix(argv.prefix);
    if (argv.count !== undefined && argv.ids !== undefined) {
      throw badInput("--ids", "either --ids or --count, not both", "both");
    }
    const ranges =
      argv.count !== undefined
        ? parseCount(argv.count)
        : argv.ids !== undefined
          ? parseIds(argv.ids)
          : undefined;
    const rendered = await renderSite({ out, prefix, ranges });
    process.stderr.write(
      `site: ${rendered.files.length} files in ${rendered.folder} for ` +
        `${countIds(rendered.ranges)} ids (${describeRanges(rendered.ranges)})` +
        `${prefix ? ` under ${prefix}` : ""}\n`,
    );
  },
};

export default site;
