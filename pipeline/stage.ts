// Runs one stage: plan what is missing, feed the pool, finish each output atomically.
import fs from "node:fs/promises";
import path from "node:path";
import { removeStaleTemps, tempPathFor } from "./atomic.ts";
import { checkOutput, type OutputFormat } from "./file-check.ts";
import { formatIdList } from "./ids.ts";
import {
  ManifestWriter,
  manifestPath,
  readManifest,
  type ManifestEntry,
} from "./manifest.ts";
import { LocalWorker, type LocalExecutor } from "./local-worker.ts";
import { Pool, type Rejections, type WorkerSpec } from "./pool.ts";
import { Progress } from "./progress.ts";
import { mapLimit, planResume } from "./resume.ts";
import { settingsKey } from "./settings-key.ts";
import {
  Sidecar,
  type Device,
  type ItemResult,
  type SidecarSpec,
} from "./sidecar.ts";

export type { LocalExecutor } from "./local-worker.ts";

/** One output to make: where it goes, what made it, what the sidecar needs. */
export interface Job {
  id: number;
  /** Output path relative to the run folder, e.g. "faces/12.png". */
  file: string;
  /** Settings recorded in the manifest; a change makes resume redo the file. */
  settings: Record<string, unknown>;
  /** Fields of the sidecar request item besides id and out. */
  request: Record<string, unknown>;
}

export interface StageOptions {
  stage: string;
  outDir: string;
  format: OutputFormat;
  jobs: Job[];
  /** The sidecar model; required unless `local` makes the outputs. */
  sidecar?: { kind: string; model: string; options?: Record<string, unknown> };
  op: string;
  params: Record<string, unknown>;
  devices: Device[];
  workersPerDevice: number;
  batch: number;
  maxAttempts: number;
  force?: boolean;
  verify?: boolean;
  dryRun?: boolean;
  verbose?: boolean;
  threads?: number;
  env?: Record<string, string>;
  /** Request fields that change with the attempt (0 first), such as a resampling seed. */
  requestFor?: (job: Job, attempt: number) => Record<string, unknown>;
  /**
   * Turns a worker's result into the final file (the default renames the
   * worker's temp file); may return extra manifest fields. Throwing rejects
   * the result, and the id is retried while attempts remain.
   */
  finalize?: (
    job: Job,
    result: ItemResult,
    temp: string,
    final: string,
    attempt: number,
  ) => Promise<Record<string, unknown> | void>;
  decode?: (file: string) => Promise<void>;
  /** Makes outputs in this process instead of in sidecars; `sidecar`, `op` and `devices` are then unused. */
  local?: LocalExecutor;
  /** Receives stdout data lines (the dry-run plan). */
  print?: (line: string) => void;
  log?: (line: string) => void;
}

export interface StageSummary {
  stage: string;
  requested: number;
  done: number;
  skipped: number;
  failures: Map<number, string>;
  interrupted: boolean;
  seconds: number;
  info?: Record<string, unknown>;
}

interface KeyedJob extends Job {
  key: string;
}

/** Plans, runs and summarises a stage; never leaves a partial file behind. */
export async function runStage(options: StageOptions): Promise<StageSummary> {
  const log =
    options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const jobs: KeyedJob[] = options.jobs.map((job) => ({
    ...job,
    key: settingsKey(job.settings),
  }));

  // Clean up after a killed run, then decide what is left to do.
  await cleanTemps(options.outDir, jobs);
  const manifestFile = manifestPath(options.outDir, options.stage);
  const manifest = readManifest(manifestFile);
  const plan = await planResume(
    jobs,
    options.outDir,
    manifest,
    options.format,
    {
      force: options.force,
      decode: options.verify ? options.decode : undefined,
    },
  );
  if (plan.redo.size)
    log(`${options.stage}: redoing ${describeRedo(plan.redo)}`);
  const summary: StageSummary = {
    stage: options.stage,
    requested: jobs.length,
    done: 0,
    skipped: plan.skipped,
    failures: new Map(),
    interrupted: false,
    seconds: 0,
  };
  if (options.dryRun) {
    printPlan(options, plan.todo, plan.skipped);
    return summary;
  }
  if (plan.todo.length === 0) return summary;
  return runPool(
    options,
    plan.todo,
    summary,
    new ManifestWriter(manifestFile),
    log,
  );
}

async function runPool(
  options: StageOptions,
  todo: KeyedJob[],
  summary: StageSummary,
  manifest: ManifestWriter,
  log: (line: string) => void,
): Promise<StageSummary> {
  const finalPath = (job: Job) => path.join(options.outDir, job.file);

  const pool: Pool<KeyedJob> = new Pool({
    specs: workerSpecs(options),
    op: options.op,
    params: options.params,
    maxAttempts: options.maxAttempts,
    verbose: options.verbose,
    log,
    prepare: async () => {
      const dirs = dirsOf(options.outDir, todo);
      await Promise.all(dirs.map((dir) => fs.mkdir(dir, { recursive: true })));
    },
    toRequest: (job, attempt) => ({
      ...job.request,
      ...options.requestFor?.(job, attempt),
      id: job.id,
      out: tempPathFor(finalPath(job)),
    }),
    onResults: async (items, results, worker, attempt) => {
      const { rejected, entries } = await finishBatch(options, items, results, {
        info: pool.infoOf(),
        worker,
        attempt,
      });
      manifest.append(entries);
      progress.add(entries.length);
      return rejected;
    },
    onDiscard: async (items) => {
      await Promise.all(
        items.map((job) => fs.rm(tempPathFor(finalPath(job)), { force: true })),
      );
    },
  });
  const progress = new Progress({
    stage: options.stage,
    total: todo.length,
    workers: () => pool.workers,
  });

  // Ctrl-C or a kill ends the workers; finished files stay, unfinished ones are removed.
  const interrupt = () => {
    summary.interrupted = true;
    pool.stop();
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  try {
    const batch = options.local ? 1 : options.batch;
    const outcome = await pool.run(batchesOf(todo, batch));
    summary.failures = outcome.failures;
    summary.info = outcome.info;
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
    progress.stop();
    manifest.close();
  }
  summary.done = progress.done;
  summary.seconds = progress.elapsed();
  return summary;
}

// Checks each result and moves its file into place; returns ids to retry and manifest lines.
async function finishBatch(
  options: StageOptions,
  items: KeyedJob[],
  results: ItemResult[],
  made: { info?: Record<string, unknown>; worker: string; attempt: number },
): Promise<{ rejected: Rejections; entries: ManifestEntry[] }> {
  const rejected: Rejections = new Map();
  const entries: ManifestEntry[] = [];
  const resultById = new Map(results.map((result) => [result.id, result]));
  const time = new Date().toISOString();
  const finished = await mapLimit(items, 16, async (job) => {
    const final = path.join(options.outDir, job.file);
    const temp = tempPathFor(final);
    const result = resultById.get(job.id);
    const outcome = await finishOne(
      options,
      job,
      result,
      temp,
      final,
      made.attempt,
    );
    if (typeof outcome === "string") await fs.rm(temp, { force: true });
    return outcome;
  });
  items.forEach((job, index) => {
    const outcome = finished[index];
    if (typeof outcome === "string") {
      rejected.set(job.id, outcome);
      return;
    }
    entries.push({
      id: job.id,
      file: job.file,
      bytes: outcome.bytes,
      key: job.key,
      ...job.settings,
      ...outcome.extra,
      model_kind: made.info?.kind,
      worker: made.worker,
      time,
    });
  });
  return { rejected, entries };
}

// The final file's size and extra manifest fields, or why the result cannot be used.
async function finishOne(
  options: StageOptions,
  job: Job,
  result: ItemResult | undefined,
  temp: string,
  final: string,
  attempt: number,
): Promise<string | { bytes: number; extra?: Record<string, unknown> }> {
  if (!result) return "the worker gave no result for it";
  if (result.error) return result.error;
  try {
    let extra: Record<string, unknown> | void = undefined;
    if (options.finalize) {
      extra = await options.finalize(job, result, temp, final, attempt);
      const problem = await checkOutput(final, options.format);
      if (problem) return `the output is ${problem}`;
    } else {
      const problem = await checkOutput(temp, options.format);
      if (problem) return `the worker's output is ${problem}`;
      await fs.rename(temp, final);
    }
    return { bytes: (await fs.stat(final)).size, extra: extra ?? undefined };
  } catch (error) {
    return (error as Error).message;
  }
}

// One slot per local lane, or per sidecar: workersPerDevice on each device.
function workerSpecs(options: StageOptions): WorkerSpec[] {
  const { local, sidecar } = options;
  if (local) {
    return Array.from({ length: local.concurrency }, (_, n) => {
      const label = local.concurrency > 1 ? `${local.label}#${n}` : local.label;
      return { label, create: () => new LocalWorker(local, label) };
    });
  }
  if (!sidecar)
    throw new Error(`${options.stage}: no sidecar and no local executor`);
  const specs: WorkerSpec[] = [];
  for (const device of options.devices) {
    for (let n = 0; n < options.workersPerDevice; n++) {
      const label =
        options.workersPerDevice > 1 ? `${device.name}#${n}` : device.name;
      const spec: SidecarSpec = {
        ...sidecar,
        device,
        label,
        threads: options.threads,
        env: options.env,
        verbose: options.verbose,
      };
      specs.push({ label, create: () => new Sidecar(spec) });
    }
  }
  return specs;
}

/** Consecutive batches of at most `size` jobs. */
export function batchesOf<T>(jobs: T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let i = 0; i < jobs.length; i += size)
    batches.push(jobs.slice(i, i + size));
  return batches;
}

function dirsOf(outDir: string, jobs: Job[]): string[] {
  return [
    ...new Set(jobs.map((job) => path.dirname(path.join(outDir, job.file)))),
  ];
}

async function cleanTemps(outDir: string, jobs: Job[]): Promise<void> {
  await Promise.all(dirsOf(outDir, jobs).map((dir) => removeStaleTemps(dir)));
}

function describeRedo(redo: Map<number, string>): string {
  const byReason = new Map<string, number[]>();
  for (const [id, why] of redo)
    byReason.set(why, [...(byReason.get(why) ?? []), id]);
  return [...byReason]
    .map(([why, ids]) => `${formatIdList(ids, 6)} (${why})`)
    .join("; ");
}

function printPlan(options: StageOptions, todo: Job[], skipped: number): void {
  const print =
    options.print ?? ((line: string) => process.stdout.write(line + "\n"));
  for (const job of todo)
    print(JSON.stringify({ id: job.id, file: job.file, ...job.request }));
  (options.log ?? console.error)(
    `${options.stage}: dry run, ${todo.length} to make, ${skipped} already done`,
  );
}

/** "faces: 64 done, 0 skipped, 0 failed in 3.2s (20.0/s) -> DIR/faces". */
export function summaryLine(summary: StageSummary, outDir: string): string {
  const rate = summary.seconds > 0 ? summary.done / summary.seconds : 0;
  const state = summary.interrupted ? "interrupted: " : "";
  return (
    `${summary.stage}: ${state}${summary.done} done, ${summary.skipped} skipped, ` +
    `${summary.failures.size} failed of ${summary.requested} in ${summary.seconds.toFixed(1)}s ` +
    `(${rate.toFixed(1)}/s) -> ${outDir}`
  );
}

/** One line per failure cause (its first line), listing the ids that hit it, then its detail. */
export function failureLines(failures: Map<number, string>): string[] {
  const byCause = new Map<string, { ids: number[]; detail: string }>();
  for (const [id, cause] of failures) {
    const [headline, ...detail] = cause.split("\n");
    const group = byCause.get(headline) ?? {
      ids: [],
      detail: detail.join("\n"),
    };
    group.ids.push(id);
    byCause.set(headline, group);
  }
  return [...byCause].map(
    ([headline, { ids, detail }]) =>
      `  failed ${formatIdList(ids)}: ${headline}${detail ? "\n" + detail : ""}`,
  );
}
