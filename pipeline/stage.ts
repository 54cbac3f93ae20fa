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
import {
  Pool,
  type PoolOptions,
  type PoolOutcome,
  type Rejections,
  type WorkerStatus,
} from "./pool.ts";
import { Progress } from "./progress.ts";
import { mapLimit, planResume } from "./resume.ts";
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
  /** Turns a sidecar result into the final file; the default renames the sidecar's temp file. */
  finalize?: (
    job: Job,
    result: ItemResult,
    temp: string,
    final: string,
  ) => Promise<void>;
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

/** Work done in the orchestrator itself (resizing with sharp, or an external program). */
export interface LocalExecutor {
  /** Shown in progress and recorded as the worker, e.g. "lanczos". */
  label: string;
  /** Items in flight at once. */
  concurrency: number;
  /** Makes one item; an error result or a rejection is retried like a sidecar item error. */
  run: (
    request: Record<string, unknown> & { id: number; out: string },
    signal: AbortSignal,
  ) => Promise<ItemResult>;
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

  const hooks: PoolHooks<KeyedJob> = {
    maxAttempts: options.maxAttempts,
    verbose: options.verbose,
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
  };
  const pool: Runner<KeyedJob> = options.local
    ? new LocalPool(options.local, hooks)
    : new Pool({
        ...hooks,
        specs: sidecarSpecs(options),
        op: options.op,
        params: options.params,
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
  const time = new Date().toISOString();
  const finished = await mapLimit(items, 16, async (job) => {
    const final = path.join(options.outDir, job.file);
    const temp = tempPathFor(final);
    const result = resultById.get(job.id);
    const problem = await finishOne(options, job, result, temp, final);
    if (problem) await fs.rm(temp, { force: true });
    return problem ?? (await fs.stat(final)).size;
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
      bytes: outcome,
      key: job.key,
      ...job.settings,
      model_kind: info?.kind,
      worker,
      time,
    });
  });
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

type PoolHooks<I extends { id: number }> = Omit<
  PoolOptions<I>,
  "specs" | "op" | "params"
>;

/** What runPool needs of a pool of workers, sidecar or local. */
interface Runner<I> {
  readonly workers: WorkerStatus[];
  run(batches: I[][]): Promise<PoolOutcome>;
  stop(): void;
  infoOf(): Record<string, unknown> | undefined;
}

/**
 * Runs items through a LocalExecutor, `concurrency` at a time, with the same
 * hooks, retries and failure reporting as the sidecar pool.
 */
class LocalPool<I extends { id: number }> implements Runner<I> {
  readonly workers: WorkerStatus[];
  private queue: { item: I; attempts: number }[] = [];
  private failures = new Map<number, string>();
  private abort = new AbortController();

  constructor(
    private readonly executor: LocalExecutor,
    private readonly hooks: PoolHooks<I>,
  ) {
    this.workers = Array.from({ length: executor.concurrency }, (_, n) => ({
      label:
        executor.concurrency > 1 ? `${executor.label}#${n}` : executor.label,
      state: "idle" as const,
      batchSize: 0,
      done: 0,
    }));
  }

  async run(batches: I[][]): Promise<PoolOutcome> {
    this.queue = batches.flat().map((item) => ({ item, attempts: 0 }));
    await this.hooks.prepare?.();
    await Promise.all(this.workers.map((status) => this.loop(status)));
    return {
      failures: this.failures,
      interrupted: this.abort.signal.aborted,
      info: this.infoOf(),
    };
  }

  stop(): void {
    this.abort.abort();
  }

  infoOf(): { kind: string } {
    return { kind: this.executor.label };
  }

  // One lane: take an item, make it, hand the result to the stage, retry what it rejects.
  private async loop(status: WorkerStatus): Promise<void> {
    for (;;) {
      const next = this.queue.shift();
      if (!next || this.abort.signal.aborted) break;
      status.state = "busy";
      status.batchSize = 1;
      const request = this.hooks.toRequest(next.item) as Parameters<
        LocalExecutor["run"]
      >[0];
      const result = await this.executor
        .run(request, this.abort.signal)
        .catch((error: Error) => ({ id: next.item.id, error: error.message }));
      const rejected = this.abort.signal.aborted
        ? new Map([[next.item.id, "interrupted"]])
        : await this.hooks.onResults([next.item], [result], status.label);
      status.state = "idle";
      const cause = rejected.get(next.item.id);
      if (cause === undefined) {
        status.done++;
        continue;
      }
      await this.hooks.onDiscard?.([next.item]);
      if (this.abort.signal.aborted) break;
      if (next.attempts + 1 >= this.hooks.maxAttempts)
        this.failures.set(next.item.id, cause);
      else this.queue.push({ item: next.item, attempts: next.attempts + 1 });
    }
    status.state = "dead";
  }
}

function sidecarSpecs(options: StageOptions): SidecarSpec[] {
  const sidecar = options.sidecar;
  if (!sidecar)
    throw new Error(`${options.stage}: no sidecar and no local executor`);
  const specs: SidecarSpec[] = [];
  for (const device of options.devices) {
    for (let n = 0; n < options.workersPerDevice; n++) {
      const label =
        options.workersPerDevice > 1 ? `${device.name}#${n}` : device.name;
      specs.push({
        ...sidecar,
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
