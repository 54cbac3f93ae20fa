// `twdne images`: upscale the faces of a run and encode them for the site.
import path from "node:path";
import type { CommandModule } from "yargs";
import { IMAGE_FORMATS } from "../encode-image.ts";
import {
  DEFAULT_NOISE_LEVEL,
  imagesSummaryLine,
  runImages,
  UPSCALERS,
} from "../images.ts";
import { failureLines, summaryLine } from "../stage.ts";

const command: CommandModule<{}, any> = {
  command: "images",
  describe:
    "Upscale DIR/faces/<id>.png and encode DIR/site/example-<id>.jpg (or .webp, .avif)",
  builder: (yargs) =>
    yargs
      .option("out", {
        type: "string",
        demandOption: true,
        describe: "Run folder (reads faces/, writes site/ and manifests/)",
      })
      .option("ids", {
        type: "string",
        describe: "Ids to make, e.g. 0-99,120 (default: every face in faces/)",
      })
      .option("upscaler", {
        type: "string",
        describe: `${UPSCALERS.join(", ")} (default waifu2x)`,
      })
      .option("model", {
        type: "string",
        describe:
          "waifu2x weights: an UpConv7 or CUNet folder, or one weight file (default: images.model of the config)",
      })
      .option("config", {
        type: "string",
        describe: "Config file (default data/twdne.config.json)",
      })
      .option("noise-level", {
        type: "number",
        describe: `waifu2x denoising: -1 none, 0 to 3 (default ${DEFAULT_NOISE_LEVEL})`,
      })
      .option("scale", {
        type: "number",
        describe: "2, or 4 (the 2x upscaler twice); default 2",
      })
      .option("mozjpeg", {
        type: "boolean",
        describe:
          "JPEG through mozjpeg: a quarter smaller, three times slower to encode (default on; --no-mozjpeg for libjpeg-turbo)",
      })
      .option("quality", {
        type: "number",
        describe: "Encoder quality 1-100 (default 25, as TWDNE's JPEGs)",
      })
      .option("format", {
        type: "string",
        describe: `${IMAGE_FORMATS.join(", ")} (default jpeg)`,
      })
      .option("keep-png", {
        type: "boolean",
        describe:
          "Also keep the lossless upscaled face in DIR/upscaled/<id>.png",
      })
      .option("command", {
        type: "string",
        describe:
          "For --upscaler command: a program line with {in} {out}, optionally {scale} {noise_level}; run without a shell",
      })
      .option("devices", {
        type: "string",
        default: "auto",
        describe: "waifu2x: auto, cpu, or GPU indexes like 0,1,3",
      })
      .option("batch", {
        type: "number",
        describe: "waifu2x: faces per request (default 8)",
      })
      .option("workers-per-device", {
        type: "number",
        describe:
          "waifu2x: worker processes per device (default 1); other upscalers: faces in flight (default: CPU count; command: 1)",
      })
      .option("tile", {
        type: "number",
        describe: "waifu2x: input pixels per tile side (default 256)",
      })
      .option("shard", {
        type: "string",
        describe: "K/N: this machine's slice, 0 <= K < N",
      })
      .option("limit", {
        type: "number",
        describe: "Make at most this many (after sharding)",
      })
      .option("max-attempts", {
        type: "number",
        default: 3,
        describe: "Tries per image before it is reported as failed",
      })
      .option("force", {
        type: "boolean",
        describe: "Redo images that already exist",
      })
      .option("verify", {
        type: "boolean",
        describe: "Fully decode existing images before skipping them",
      })
      .option("dry-run", {
        type: "boolean",
        describe: "Print what would be made (JSON lines on stdout) and stop",
      })
      .option("verbose", {
        type: "boolean",
        describe: "Show each worker's log",
      })
      .example(
        "$0 images --out data/out/v3 --model ../shared/models/waifu2x/upconv7",
        "waifu2x 2x, JPEG quality 25, on every GPU",
      )
      .example(
        "$0 images --out data/out/v3 --upscaler command --command 'waifu2x-ncnn-vulkan -i {in} -o {out} -n {noise_level} -s {scale}'",
        "an external upscaler, one face at a time",
      )
      .example(
        "$0 images --out data/out/v3 --upscaler lanczos --format webp --quality 50",
        "no GPU: lanczos resize to WebP",
      ),
  handler: async (argv) => {
    const summary = await runImages({ ...argv, out: argv.out });
    if (argv.dryRun) return;
    const site = path.join(argv.out, "site");
    process.stderr.write(
      `${summaryLine(summary, site)}; ${imagesSummaryLine(summary)}\n`,
    );
    for (const line of failureLines(summary.failures))
      process.stderr.write(line + "\n");
    process.exitCode = summary.interrupted
      ? 130
      : summary.failures.size
        ? 1
        : 0;
  },
};

export default command;
