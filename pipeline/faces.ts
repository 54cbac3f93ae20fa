// The faces stage: seeds with psi groups -> sidecar generators -> DIR/faces/<id>.png.
import path from "node:path";
import sharp from "sharp";
import {
  checkPsi,
  expandGroups,
  loadConfig,
  type FaceTarget,
} from "./config.ts";
import { resolveDevices, threadsPerWorker } from "./devices.ts";
import { badInput } from "./errors.ts";
import { parseIdList } from "./ids.ts";
import { checkModelPath, sha256Of } from "./model-file.ts";
import {
  checkPositive,
  shardSelector,
  type StageFlags,
} from "./stage-flags.ts";
import {
  failureLines,
  runStage,
  summaryLine,
  type Job,
  type StageSummary,
} from "./stage.ts";

export const NOISE_MODES = ["const", "random", "none", "tf"] as const;

export interface FacesOptions extends StageFlags {
  network?: string;
  kind?: string;
  seeds?: string;
  psi?: number | string;
  noiseMode?: string;
  class?: number;
  fp16?: boolean;
}

/** Makes the faces the flags and config ask for; resolves to the stage summary. */
export async function runFaces(options: FacesOptions): Promise<StageSummary> {
  // Validate every flag before touching the model or the devices.
  const config = loadConfig(options.config).faces;
  const noiseMode = checkNoiseMode(
    options.noiseMode ?? config.noise_mode ?? "const",
  );
  const classIndex = checkClass(options.class ?? config.class ?? undefined);
  const batch = checkPositive(options.batch ?? config.batch ?? 16, "--batch");
  const workersPerDevice = checkPositive(
    options.workersPerDevice ?? 1,
    "--workers-per-device",
  );
  const selectShard = shardSelector(options);
  const maxAttempts = checkPositive(options.maxAttempts ?? 3, "--max-attempts");
  const targets = selectShard(selectTargets(options, config));
  const network = options.network ?? config.network;
  if (!network) {
    throw badInput(
      "--network",
      "a model file (or faces.network in the config)",
      undefined,
    );
  }
  const model = checkModelPath(
    network,
    options.network ? "--network" : "faces.network",
  );

  const devices = options.dryRun
    ? [{ name: "cpu" }]
    : await resolveDevices(options.devices);
  const modelSha256 = await sha256Of(model);
  const jobs = targets.map((target) =>
    faceJob(target, modelSha256, noiseMode, classIndex),
  );
  return runStage({
    stage: "faces",
    outDir: options.out,
    format: "png",
    jobs,
    sidecar: {
      kind: options.kind ?? config.kind ?? "auto",
      model,
      options: { fp16: Boolean(options.fp16) },
    },
    op: "generate",
    params: { noise_mode: noiseMode, class: classIndex ?? null },
    devices,
    workersPerDevice,
    batch,
    maxAttempts,
    force: options.force,
    verify: options.verify,
    dryRun: options.dryRun,
    verbose: options.verbose,
    threads: threadsPerWorker(devices, workersPerDevice),
    env: options.env,
    decode: decodeImage,
  });
}

function selectTargets(
  options: FacesOptions,
  config: ReturnType<typeof loadConfig>["faces"],
): FaceTarget[] {
  if (options.seeds !== undefined) {
    const psi = checkPsi(options.psi ?? 1, "--psi");
    return parseIdList(options.seeds, "--seeds").map((seed) => ({
      id: seed,
      seed,
      psi,
    }));
  }
  if (options.psi !== undefined)
    throw badInput(
      "--psi",
      "--seeds alongside it (config groups carry their own psi)",
      String(options.psi),
    );
  if (!config.groups?.length)
    throw badInput(
      "--seeds",
      "seeds such as 0-63 (or faces.groups in the config)",
      undefined,
    );
  return expandGroups(config.groups, "faces.groups");
}

function faceJob(
  target: FaceTarget,
  modelSha256: string,
  noiseMode: string,
  classIndex?: number,
): Job {
  const { id, seed, psi } = target;
  return {
    id,
    file: path.join("faces", `${id}.png`),
    settings: {
      seed,
      psi,
      noise_mode: noiseMode,
      class: classIndex,
      model_sha256: modelSha256,
    },
    request: { seed, psi },
  };
}

function checkNoiseMode(mode: string): string {
  if (!(NOISE_MODES as readonly string[]).includes(mode)) {
    throw badInput("--noise-mode", NOISE_MODES.join(", "), mode);
  }
  return mode;
}

function checkClass(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Number.isInteger(value) || (value as number) < 0)
    throw badInput("--class", "a class index 0 or more", value);
  return value as number;
}

/** Full decode of an image, for --verify. */
export async function decodeImage(file: string): Promise<void> {
  await sharp(file).raw().toBuffer();
}

/** Prints the summary and failures; resolves to the exit code (0, 1 on failures, 130 interrupted). */
export function reportStage(summary: StageSummary, outDir: string): number {
  process.stderr.write(summaryLine(summary, outDir) + "\n");
  for (const line of failureLines(summary.failures))
    process.stderr.write(line + "\n");
  if (summary.interrupted) return 130;
  return summary.failures.size ? 1 : 0;
}
