// Orchestrator overhead per id at 100,000 ids, next to the DCGAN's own time per id.
//
// The null model paints 8x8 PNGs, so nearly all of a run's time is the
// pipeline: protocol, queue, rename, manifest. The same null model run in one
// Python process with no orchestrator (reference, same machine, same run) is
// subtracted, leaving the overhead the orchestrator adds per id.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { pythonEnv, pythonPath, projectRoot } from "../pipeline/python.ts";
import { runStage, type Job } from "../pipeline/stage.ts";

const COUNT = Number(process.env.BENCH_IDS ?? 100_000);
const BATCH = 256;
const DCGAN = path.resolve(
  projectRoot,
  "../shared/models/dcgan-anime/generator.h5",
);

function jobs(count: number): Job[] {
  return Array.from({ length: count }, (_, id) => ({
    id,
    file: `faces/${id}.png`,
    settings: { seed: id, psi: 1 },
    request: { seed: id, psi: 1 },
  }));
}

async function stageSeconds(
  kind: string,
  model: string,
  count: number,
  outDir: string,
) {
  const started = process.hrtime.bigint();
  const summary = await runStage({
    stage: "faces",
    outDir,
    format: "png",
    jobs: jobs(count),
    sidecar: { kind, model },
    op: "generate",
    params: { noise_mode: "const" },
    devices: [{ name: "cpu" }],
    workersPerDevice: 1,
    batch: kind === "null" ? BATCH : 64,
    maxAttempts: 2,
    log: () => {},
  });
  if (summary.done !== count)
    throw new Error(`${kind}: ${summary.done} of ${count} done`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

// The same null model in one Python process writing the same files, no orchestrator.
async function referenceSeconds(
  count: number,
  outDir: string,
): Promise<number> {
  const script = `
import time, sys
from twdne.models import load_model
m = load_model("null", "", options={})
n, out = int(sys.argv[1]), sys.argv[2]
t = time.perf_counter()
for start in range(0, n, ${BATCH}):
    ids = range(start, min(n, start + ${BATCH}))
    m.run("generate", [{"id": i, "seed": i, "psi": 1, "out": f"{out}/{i}.png"} for i in ids], {})
print(time.perf_counter() - t)
`;
  fs.mkdirSync(outDir, { recursive: true });
  const result = await execa(
    pythonPath(),
    ["-c", script, String(count), outDir],
    { env: pythonEnv() },
  );
  return Number(String(result.stdout).trim());
}

async function main() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "twdne-bench-"));
  try {
    const reference = await referenceSeconds(
      COUNT,
      path.join(root, "reference"),
    );
    const pipeline = await stageSeconds(
      "null",
      path.join(projectRoot, "package.json"),
      COUNT,
      path.join(root, "null"),
    );
    const resumeStart = process.hrtime.bigint();
    const rerun = await runStage({
      stage: "faces",
      outDir: path.join(root, "null"),
      format: "png",
      jobs: jobs(COUNT),
      sidecar: { kind: "null", model: "" },
      op: "generate",
      params: { noise_mode: "const" },
      devices: [{ name: "cpu" }],
      workersPerDevice: 1,
      batch: BATCH,
      maxAttempts: 1,
      log: () => {},
    });
    const resume = Number(process.hrtime.bigint() - resumeStart) / 1e9;
    const dcganCount = 512;
    const dcgan = await stageSeconds(
      "dcgan",
      DCGAN,
      dcganCount,
      path.join(root, "dcgan"),
    );

    const us = (seconds: number, n: number) => ((seconds / n) * 1e6).toFixed(1);
    const overhead = (pipeline - reference) / COUNT;
    console.log(`ids                              ${COUNT}`);
    console.log(
      `null model, one Python process   ${reference.toFixed(2)} s  (${us(reference, COUNT)} us/id, reference)`,
    );
    console.log(
      `null model through the pipeline  ${pipeline.toFixed(2)} s  (${us(pipeline, COUNT)} us/id)`,
    );
    console.log(
      `orchestrator overhead            ${(overhead * 1e6).toFixed(1)} us/id  (target < 1000 us/id)`,
    );
    console.log(
      `resume check, all ${rerun.skipped} skipped   ${resume.toFixed(2)} s  (${us(resume, COUNT)} us/id)`,
    );
    console.log(
      `DCGAN 64px through the pipeline  ${us(dcgan, dcganCount)} us/id over ${dcganCount} ids (batch 64)`,
    );
    console.log(
      `overhead / DCGAN time per id     ${(overhead / (dcgan / dcganCount)).toFixed(3)}`,
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
