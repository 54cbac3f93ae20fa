// `twdne sheet`: a contact sheet of faces (seeded random or chosen ids) in one PNG.
import type { CommandModule } from "yargs";
import { makeSheet } from "../sheet.ts";

const command: CommandModule<{}, any> = {
  command: "sheet",
  describe:
    "Draw a grid of faces into one PNG (DIR/sheet.png), like TWDNE's 10x10 overviews",
  builder: (yargs) =>
    yargs
      .option("out", {
        type: "string",
        demandOption: true,
        describe: "Run folder to read faces/ or site/ from",
      })
      .option("grid", {
        type: "string",
        default: "10x10",
        describe: "COLUMNSxROWS",
      })
      .option("ids", {
        type: "string",
        describe: "Ids to draw, in order (default: a random sample)",
      })
      .option("seed", {
        type: "number",
        default: 0,
        describe: "Seed of the random sample",
      })
      .option("size", {
        type: "number",
        describe: "Cell side in pixels (default: the first image's width)",
      })
      .option("source", {
        type: "string",
        default: "faces",
        describe:
          "faces (generated), upscaled (images --keep-png) or site (encoded)",
      })
      .option("file", {
        type: "string",
        describe: "Where to write the PNG (default DIR/sheet.png)",
      })
      .example(
        "$0 sheet --out data/out/v3 --source site --seed 7",
        "100 random site images at their own size",
      ),
  handler: async (argv) => {
    const sheet = await makeSheet({ ...argv, out: argv.out });
    // stdout: the file and the ids drawn, row by row, for scripts
    process.stdout.write(
      JSON.stringify({ file: sheet.file, ids: sheet.ids }) + "\n",
    );
    process.stderr.write(
      `sheet: ${sheet.ids.length} faces in ${sheet.columns}x${sheet.rows} cells of ` +
        `${sheet.size}px -> ${sheet.file}\n`,
    );
  },
};

export default command;
