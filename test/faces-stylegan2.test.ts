// twdne faces on the official-format StyleGAN2 fixtures, through the real CLI and sidecars:
// every PNG the official code wrote is reproduced within 1 level, whatever the batching.
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import t from "tap";
import { projectRoot } from "../pipeline/python.ts";
import { manifestLines, tempDir, twdne } from "./helpers/cli.ts";

const FIXTURES = path.resolve(projectRoot, "../shared/fixtures/stylegan2");

interface Expected {
  seed: number;
  psi: number;
  file: string;
}

/** One CLI run: a network, a noise mode and a class, with a psi group per psi. */
interface Run {
  network: string;
  noiseMode: string;
  classIdx: number | null;
  expected: Expected[];
}

// The manifest's PNG entries of one fixture folder, grouped into runs.
function runsOf(fixture: string, network: string, kind = "png"): Run[] {
  const manifest = JSON.parse(
    fs.readFileSync(path.join(FIXTURES, fixture, "manifest.json"), "utf8"),
  );
  const runs = new Map<string, Run>();
  for (const entry of manifest.files) {
    if (entry.kind !== kind) continue;
    const noiseMode = entry.noise_mode ?? "tf";
    const classIdx = entry.class_idx ?? null;
    const key = `${noiseMode}/${classIdx}`;
    if (!runs.has(key))
      runs.set(key, { network, noiseMode, classIdx, expected: [] });
    runs.get(key)!.expected.push({
      seed: entry.seed,
      psi: entry.psi,
      file: path.join(FIXTURES, entry.file),
    });
  }
  return [...runs.values()];
}

const RUNS: Run[] = [
  ...runsOf("tiny", "tiny.pkl"),
  ...runsOf("cond", "cond.pkl"),
  // tiny-tf.pkl holds tiny's weights, so tiny's const faces are its faces too
  ...runsOf("tiny", "tiny-tf.pkl").filter((run) => run.noiseMode === "const"),
  ...runsOf("tiny-tf", "tiny-tf.pkl", "png_tfnoise"),
];

// ids k*1000 + seed for the k-th psi, so one run covers every psi through config groups
function configFor(run: Run) {
  const psis = [...new Set(run.expected.map((e) => e.psi))].sort();
  const groups = psis.map((psi, k) => {
    const seeds = run.expected.filter((e) => e.psi === psi).map((e) => e.seed);
    const ids = seeds.map((seed) => k * 1000 + seed);
    return { ids: ids.join(","), seeds: seeds.join(","), psi };
  });
  const idOf = (e: Expected) => psis.indexOf(e.psi) * 1000 + e.seed;
  return { config: { faces: { groups } }, idOf };
}

async function pixels(file: string): Promise<Buffer> {
  return sharp(file).removeAlpha().raw().toBuffer();
}

/** Largest channel difference, and the share of pixels equal in every channel. */
function compare(a: Buffer, b: Buffer): { maxDiff: number; same: number } {
  let maxDiff = 0;
  let samePixels = 0;
  for (let i = 0; i < a.length; i += 3) {
    let pixelSame = true;
    for (let c = 0; c < 3; c++) {
      const diff = Math.abs(a[i + c] - b[i + c]);
      maxDiff = Math.max(maxDiff, diff);
      if (diff) pixelSame = false;
    }
    if (pixelSame) samePixels++;
  }
  return { maxDiff, same: samePixels / (a.length / 3) };
}

t.test("every official fixture face, seed for seed", async (t) => {
  t.ok(RUNS.length >= 10, `${RUNS.length} runs cover the fixtures`);
  for (const [index, run] of RUNS.entries()) {
    const out = tempDir(t, "sg2");
    const { config, idOf } = configFor(run);
    const configFile = path.join(out, "faces.config.json");
    fs.writeFileSync(configFile, JSON.stringify(config));
    // Alternate the batching: results must not depend on it
    const batching =
      index % 2
        ? ["--batch", "3", "--workers-per-device", "2"]
        : ["--batch", "8"];
    const args = ["faces", "--config", configFile, "--out", out];
    args.push("--network", path.join(FIXTURES, run.network));
    args.push("--noise-mode", run.noiseMode, "--devices", "cpu", ...batching);
    if (run.classIdx !== null) args.push("--class", String(run.classIdx));
    const name = `${run.network} ${run.noiseMode} class ${run.classIdx}`;

    const result = await twdne(args);
    t.equal(result.code, 0, `${name}: ${result.stderr}`);
    for (const expected of run.expected) {
      const face = path.join(out, "faces", `${idOf(expected)}.png`);
      const { maxDiff, same } = compare(
        await pixels(face),
        await pixels(expected.file),
      );
      t.ok(
        maxDiff <= 1 && same >= 0.999,
        `${name} psi ${expected.psi} seed ${expected.seed}: ` +
          `max diff ${maxDiff}, ${(same * 100).toFixed(2)}% identical`,
      );
    }
    const lines = manifestLines(out);
    t.equal(
      lines.length,
      run.expected.length,
      `${name}: one manifest line a face`,
    );
    t.match(lines[0], { noise_mode: run.noiseMode, model_kind: "stylegan2" });
  }
});
