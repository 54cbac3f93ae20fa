// `twdne snippets`: anime plot texts for the configured ids, from a local text model.
import type { CommandModule } from "yargs";
import { reportStage } from "../faces.ts";
import { BACKENDS, runSnippets } from "../snippets.ts";

const command: CommandModule<{}, any> = {
  command: "snippets",
  describe:
    "Write DIR/site/snippet-<id>.txt for each id, from GPT-2, the two-stage chain or the char-RNN",
  builder: (yargs) =>
    yargs
      .option("out", {
        type: "string",
        demandOption: true,
        describe: "Run folder (site/ and manifests/ go in it)",
      })
      .option("config", {
        type: "string",
        describe:
          "Config file (default data/twdne.config.json); its snippets section gives defaults",
      })
      .option("backend", {
        type: "string",
        choices: BACKENDS,
        describe: "Text model kind (default: snippets.backend, else gpt2)",
      })
      .option("model", {
        type: "string",
        describe:
          "Model folder (GPT-2 HF or OpenAI TF layout, or a char-RNN); the base model of twostage",
      })
      .option("synopsis-model", {
        type: "string",
        describe: "twostage: the GPT-2 finetuned on Title|Synopsis lines",
      })
      .option("vocab", {
        type: "string",
        describe:
          "Folder with encoder.json and vocab.bpe (default: the model folder)",
      })
      .option("kind", {
        type: "string",
        describe: "Sidecar model kind, when not the backend's own",
      })
      .option("model-options", {
        type: "string",
        describe: 'JSON object of model options, e.g. {"batch_size": 32}',
      })
      .option("prompt-file", {
        type: "string",
        describe: "Prompt for gpt2 and charrnn (see data/prompts/)",
      })
      .option("synopsis-prompt-file", {
        type: "string",
        describe:
          "twostage: prompt of stage one (default data/prompts/synopsis.txt)",
      })
      .option("plot-prompt-file", {
        type: "string",
        describe:
          "twostage: template with {synopsis} (default data/prompts/plot.txt)",
      })
      .option("ids", {
        type: "string",
        describe:
          "Ids, e.g. 0-99 (default: snippets.ids, else the face groups' ids)",
      })
      .option("temperature", {
        type: "number",
        describe: "Sampling temperature (default 0.7)",
      })
      .option("top-k", {
        type: "number",
        describe: "Keep the k likeliest tokens, 0 for all (default 40)",
      })
      .option("top-p", {
        type: "number",
        describe: "Nucleus mass to keep (default 1: off)",
      })
      .option("max-new-tokens", {
        type: "number",
        describe: "Tokens (characters for charrnn) per sample (default 400)",
      })
      .option("min-chars", {
        type: "number",
        describe: "Resample texts shorter than this (default 250)",
      })
      .option("min-synopsis-chars", {
        type: "number",
        describe: "twostage: keep synopses longer than this (default 150)",
      })
      .option("max-attempts", {
        type: "number",
        describe: "Samples per id before it is reported (default 5)",
      })
      .option("devices", {
        type: "string",
        describe: "auto, cpu, or GPU indexes like 0,1,3 (default auto)",
      })
      .option("batch", {
        type: "number",
        describe: "Prompts per request (default 16)",
      })
      .option("workers-per-device", {
        type: "number",
        describe: "Worker processes per device (default 1)",
      })
      .option("shard", {
        type: "string",
        describe: "K/N: this machine's slice, 0 <= K < N",
      })
      .option("limit", {
        type: "number",
        describe: "Write at most this many (after sharding)",
      })
      .option("force", {
        type: "boolean",
        describe: "Redo snippets that already exist",
      })
      .option("dry-run", {
        type: "boolean",
        describe: "Print what would be made and stop",
      })
      .option("verbose", {
        type: "boolean",
        describe: "Show each request and each worker's log",
      })
      .example(
        "$0 snippets --backend charrnn --model models/charrnn/charlotte_bronte --prompt-file data/prompts/charrnn.txt --ids 0-63 --out data/out/demo",
        "the demo model",
      )
      .example(
        "$0 snippets --backend gpt2 --model models/gpt2-117M --prompt-file data/prompts/anime-keywords.txt --top-k 40 --out data/out/v3",
        "GPT-2 with the keyword prompt",
      )
      .example(
        "$0 snippets --backend twostage --synopsis-model models/gpt2-anime --model models/gpt2-345M --out data/out/v3",
        "the two-model chain",
      ),
  handler: async (argv) => {
    const summary = await runSnippets({ ...argv, out: argv.out });
    process.exitCode = reportStage(summary, argv.out);
  },
};

export default command;
