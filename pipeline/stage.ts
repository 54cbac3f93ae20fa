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
import { Pool, type Rejections } from "./pool.ts";
import { Progress } from "./progress.ts";
import { planResume } from "./resume.ts";
import { settingsKey } from "./settings-key.ts";
import type { Device, ItemResult, SidecarSpec } from "./sidecar.ts";

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
  sidecar: { kind: string; model: string; options?: Record<string, unknown> };
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
  /** Turns a sidecar result into the final file; the default renames the sidecar's temp file. */
  finalize?: (
    job: Job,
    result: ItemResult,
    temp: string,
    final: string,
  ) => Promise<void>;
  decode?: (file: string) => Promise<void>;
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
    specs: sidecarSpecs(options),
    op: options.op,
    params: options.params,
    maxAttempts: options.maxAttempts,
    log,
    prepare: async () => {
      const dirs = dirsOf(options.outDir, todo);
      await Promise.all(dirs.map((dir) => fs.mkdir(dir, { recursive: true })));
    },
    toRequest: (job) => ({
      ...job.request,
      id: job.id,
      out: tempPathFor(finalPath(job)),
    }),
    onResults: async (items, results, worker) => {
      const { rejected, entries } = await finishBatch(
        options,
        items,
        results,
        pool.infoOf(),
        worker,
      );
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
    const outcome = await pool.run(batchesOf(todo, options.batch));
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
  info: Record<string, unknown> | undefined,
  worker: string,
): Promise<{ rejected: Rejections; entries: ManifestEntry[] }> {
  const rejected: Rejections = new Map();
  const entries: ManifestEntry[] = [];
  const resultById = new Map(results.map((result) => [result.id, result]));
  for (const job of items) {
    const final = path.join(options.outDir, job.file);
    const temp = tempPathFor(final);
    const result = resultById.get(job.id);
    const problem = await finishOne(options, job, result, temp, final);
    if (problem) {
      rejected.set(job.id, problem);
      await fs.rm(temp, { force: true });
      continue;
    }
    const { size } = await fs.stat(final);
    entries.push({
      id: job.id,
      file: job.file,
      bytes: size,
      key: job.key,
      ...job.settings,
      model_kind: info?.kind,
      worker,
      time: new Date().toISOString(),
    });
  }
  return { rejected, entries };
}

async function finishOne(
  options: StageOptions,
  job: Job,
  result: ItemResult | undefined,
  temp: string,
  final: string,
): Promise<string | undefined> {
  if (!result) return "the worker gave no result for it";
  if (result.error) return result.error;
  try {
    if (options.finalize) {
      await options.finalize(job, result, temp, final);
      return await checkOutput(final, options.format);
    }
    const problem = await checkOutput(temp, options.format);
    if (problem) return `the worker's output is ${problem}`;
    await fs.rename(temp, final);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function sidecarSpecs(options: StageOptions): SidecarSpec[] {
  const specs: SidecarSpec[] = [];
  for (const device of options.devices) {
    for (let n = 0; n < options.workersPerDevice; n++) {
      const label =
        options.workersPerDevice > 1 ? `${device.name}#${n}` : device.name;
      specs.push({
        ...options.sidecar,
        device,
        label,
        threads: options.threads,
        env: options.env,
        verbose: options.verbose,
      });
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
