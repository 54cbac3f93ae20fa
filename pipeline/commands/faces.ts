// `twdne faces`: generate faces from a network for seeds or config groups.
import type { CommandModule } from "yargs";
import { NOISE_MODES, reportStage, runFaces } from "../faces.ts";

const command: CommandModule<{}, any> = {
  command: "faces",
  describe:
    "Generate faces: DIR/faces/<id>.png for each seed (or each id of the config's psi groups)",
  builder: (yargs) =>
    yargs
      .option("out", {
        type: "string",
        demandOption: true,
        describe: "Run folder (faces/ and manifests/ go in it)",
      })
      .option("network", {
        type: "string",
        describe:
          "Model file: StyleGAN2 .pkl or DCGAN .h5 (default: faces.network of the config)",
      })
      .option("config", {
        type: "string",
        describe: "Config file (default data/twdne.config.json)",
      })
      .option("seeds", {
        type: "string",
        describe:
          "Seeds to generate, e.g. 0,7,10-19 (id = seed); overrides the config groups",
      })
      .option("psi", {
        type: "string",
        describe: "Truncation psi for --seeds (default 1)",
      })
      .option("noise-mode", {
        type: "string",
        choices: NOISE_MODES,
        describe: "Noise inputs (default const)",
      })
      .option("class", {
        type: "number",
        describe: "Class index for a conditional network",
      })
      .option("fp16", {
        type: "boolean",
        describe: "float16 for the top resolutions on CUDA",
      })
      .option("kind", {
        type: "string",
        describe: "Model kind (default: detected from the file)",
      })
      .option("devices", {
        type: "string",
        default: "auto",
        describe: "auto, cpu, or GPU indexes like 0,1,3",
      })
      .option("batch", {
        type: "number",
        describe: "Images per request (default 16)",
      })
      .option("workers-per-device", {
        type: "number",
        default: 1,
        describe: "Worker processes per device",
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
        describe: "Tries per face before it is reported as failed",
      })
      .option("force", {
        type: "boolean",
        describe: "Redo faces that already exist",
      })
      .option("verify", {
        type: "boolean",
        describe: "Fully decode existing faces before skipping them",
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
        "$0 faces --network ffhq.pkl --seeds 0-49999 --psi 0.8 --out data/out/run",
        "one psi for a range of seeds",
      )
      .example(
        "$0 faces --config data/twdne-v3.config.json --out data/out/v3 --devices 0,1",
        "the config's psi groups on two GPUs",
      )
      .example(
        "$0 faces --out data/out/v3 --shard 3/8",
        "the fourth of eight machines",
      ),
  handler: async (argv) => {
    const summary = await runFaces({ ...argv, out: argv.out });
    process.exitCode = reportStage(summary, argv.out);
  },
};

export default command;
