// `twdne inspect FILE`: prints what a model file is (kind, resolution, dims, sha256).
import type { CommandModule } from "yargs";
import { formatInfo, inspectModel } from "../inspect.ts";

const command: CommandModule<{}, any> = {
  command: "inspect <file>",
  describe: "Describe a model file, or say why it cannot be loaded",
  builder: (yargs) =>
    yargs
      .positional("file", { type: "string", describe: "Model file or folder" })
      .option("kind", {
        type: "string",
        default: "auto",
        describe: "Model kind (default: detected)",
      })
      .option("vocab", {
        type: "string",
        describe:
          "GPT-2: folder of encoder.json and vocab.bpe (default: the model folder)",
      })
      .option("json", { type: "boolean", describe: "Print the report as JSON" })
      .example(
        "$0 inspect network-snapshot-057891.pkl",
        "format, resolution, z/w dims, sha256",
      ),
  handler: async (argv) => {
    const report = await inspectModel(argv.file, argv.kind, argv.vocab);
    if (argv.json) process.stdout.write(JSON.stringify(report) + "\n");
    else if (report.ok) process.stdout.write(formatInfo(report.info!) + "\n");
    if (!report.ok && !argv.json)
      process.stderr.write(`twdne inspect: ${report.error?.message}\n`);
    process.exitCode = report.ok ? 0 : 1;
  },
};

export default command;
