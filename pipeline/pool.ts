// The worker pool: long-lived workers (sidecars or local lanes), one shared queue, retries, out-of-memory halving.
import { formatIdList } from "./ids.ts";
import {
  ModelLoadError,
  SidecarExit,
  type Answer,
  type ItemResult,
  type ModelInfo,
} from "./sidecar.ts";

/** What the pool needs of a worker: the sidecar process, or a LocalWorker. */
export interface Worker {
  start(): Promise<ModelInfo>;
  request(
    op: string,
    items: object[],
    params: Record<string, unknown>,
  ): Promise<Answer>;
  stop(): Promise<void>;
  kill(): void;
}

/** A worker slot: its label, and how to make (or remake) its worker. */
export interface WorkerSpec {
  label: string;
  create: () => Worker;
}

export interface PoolItem {
  id: number;
}

/** What the stage says about a finished batch: ids that must be retried, with why. */
export type Rejections = Map<number, string>;

export interface PoolOptions<I extends PoolItem> {
  specs: WorkerSpec[];
  op: string;
  params: Record<string, unknown>;
  /** The request fields of an item at an attempt (0 first), e.g. its temporary output path. */
  toRequest: (item: I, attempt: number) => object;
  /** Accepts a batch's results (rename, manifest); returns the ids to retry. */
  onResults: (
    items: I[],
    results: ItemResult[],
    worker: string,
    attempt: number,
  ) => Promise<Rejections>;
  /** A batch's items were dropped or will be retried: remove their leftovers. */
  onDiscard?: (items: I[]) => Promise<void>;
  /** Runs once, after a model loaded and before the first batch (creates output folders). */
  prepare?: () => Promise<void>;
  /** Attempts per item, counting the first. */
  maxAttempts: number;
  /** How many times a worker process may be restarted in all. */
  maxRestarts?: number;
  log?: (line: string) => void;
  /** Log every request and its answer time. */
  verbose?: boolean;
}

interface Batch<I> {
  items: I[];
  attempts: number;
}

// "done": ended after the work ran out or the run stopped; "dead": could not start again.
export type WorkerState =
  "starting" | "idle" | "busy" | "restarting" | "done" | "dead";

export interface WorkerStatus {
  label: string;
  state: WorkerState;
  batchSize: number;
  done: number;
}

export interface PoolOutcome {
  failures: Map<number, string>;
  interrupted: boolean;
  info?: ModelInfo;
}

/** Hands batches to whichever worker is free until the queue is empty or the run is stopped. */
export class Pool<I extends PoolItem> {
  readonly workers: WorkerStatus[];
  private queue: Batch<I>[] = [];
  private failures = new Map<number, string>();
  private inFlight = 0;
  private stopped = false;
  private waiters: (() => void)[] = [];
  private running: (Worker | undefined)[] = [];
  private restarts = 0;
  private info?: ModelInfo;

  constructor(private readonly options: PoolOptions<I>) {
    this.workers = options.specs.map((spec) => ({
      label: spec.label,
      state: "starting",
      batchSize: 0,
      done: 0,
    }));
  }

  /** Runs every batch; resolves with what failed. Throws ModelLoadError if no worker can load. */
  async run(batches: I[][]): Promise<PoolOutcome> {
    this.queue = batches.map((items) => ({ items, attempts: 0 }));
    const loops = this.options.specs.map((_, index) => this.workerLoop(index));
    const settled = await Promise.allSettled(loops);
    const loadError = settled.find(
      (s) => s.status === "rejected" && s.reason instanceof ModelLoadError,
    );
    await this.stopAll();
    if (loadError) throw (loadError as PromiseRejectedResult).reason;
    const other = settled.find((s) => s.status === "rejected");
    if (other) throw (other as PromiseRejectedResult).reason;
    this.failRemaining("no worker was left to run it");
    return {
      failures: this.failures,
      interrupted: this.stopped,
      info: this.info,
    };
  }

  /** The model description the first worker reported when it was ready. */
  infoOf(): ModelInfo | undefined {
    return this.info;
  }

  /** Stops handing out work and ends the workers (Ctrl-C). */
  stop(): void {
    this.stopped = true;
    for (const worker of this.running) worker?.kill();
    this.wakeAll();
  }

  // One worker slot: start its worker, then take batches until none are left.
  private async workerLoop(index: number): Promise<void> {
    const status = this.workers[index];
    let worker = await this.startWorker(index);
    while (worker && !this.stopped) {
      const batch = this.takeBatch(index);
      if (!batch) {
        if (this.inFlight === 0) break;
        await new Promise<void>((resolve) => this.waiters.push(resolve));
        continue;
      }
      status.state = "busy";
      status.batchSize = batch.items.length;
      this.inFlight++;
      const alive = await this.runBatch(worker, batch, status);
      this.inFlight--;
      status.state = "idle";
      if (!alive && !this.stopped) worker = await this.restart(index);
      this.wakeAll();
    }
    status.state = worker ? "done" : "dead";
    this.wakeAll();
  }

  private async startWorker(index: number): Promise<Worker | undefined> {
    const worker = this.options.specs[index].create();
    this.running[index] = worker;
    try {
      this.info = await worker.start();
      this.workers[index].state = "idle";
      return worker;
    } catch (error) {
      if (error instanceof ModelLoadError) {
        this.stop();
        throw error;
      }
      this.options.log?.(`${(error as Error).message}`);
      this.workers[index].state = "dead";
      return undefined;
    }
  }

  private async restart(index: number): Promise<Worker | undefined> {
    const limit = this.options.maxRestarts ?? 3 * this.options.specs.length + 2;
    if (++this.restarts > limit) {
      this.options.log?.(
        `worker ${this.workers[index].label}: not restarted, ${limit} restarts used`,
      );
      return undefined;
    }
    this.workers[index].state = "restarting";
    return this.startWorker(index);
  }

  // The next batch, cut to this worker's size limit after an out-of-memory answer.
  private takeBatch(index: number): Batch<I> | undefined {
    const batch = this.queue.shift();
    const limit = this.limits[index];
    if (batch && limit && batch.items.length > limit) {
      this.queue.unshift({
        items: batch.items.slice(limit),
        attempts: batch.attempts,
      });
      batch.items = batch.items.slice(0, limit);
    }
    return batch;
  }

  private limits: number[] = [];
  private prepared?: Promise<void>;

  // Sends one batch; returns false when the worker died and must be replaced.
  private async runBatch(
    worker: Worker,
    batch: Batch<I>,
    status: WorkerStatus,
  ): Promise<boolean> {
    const { op, params, toRequest } = this.options;
    let answer;
    try {
      await (this.prepared ??= this.options.prepare?.());
      const started = Date.now();
      const requests = batch.items.map((item) =>
        toRequest(item, batch.attempts),
      );
      answer = await worker.request(op, requests, params);
      if (this.options.verbose) this.logRequest(status, batch, answer, started);
    } catch (error) {
      if (!(error instanceof SidecarExit)) throw error;
      await this.options.onDiscard?.(batch.items);
      if (!this.stopped) this.retry(batch.items, batch.attempts, error.message);
      return false;
    }
    if (answer.ok) {
      const rejected = await this.options.onResults(
        batch.items,
        answer.results,
        status.label,
        batch.attempts,
      );
      status.done += batch.items.length - rejected.size;
      for (const [id, cause] of rejected) {
        const item = batch.items.find((candidate) => candidate.id === id)!;
        this.retry([item], batch.attempts, cause);
      }
      return true;
    }
    await this.options.onDiscard?.(batch.items);
    if (answer.error.kind === "oom")
      this.shrink(batch, status, answer.error.message);
    else this.retry(batch.items, batch.attempts, answer.error.message);
    return true;
  }

  private logRequest(
    status: WorkerStatus,
    batch: Batch<I>,
    answer: Answer,
    started: number,
  ): void {
    const ids = formatIdList(
      batch.items.map((item) => item.id),
      4,
    );
    const outcome = answer.ok
      ? "ok"
      : `${answer.error.kind}: ${answer.error.message}`;
    const attempt = batch.attempts ? `, attempt ${batch.attempts + 1}` : "";
    this.options.log?.(
      `${status.label}: ${this.options.op} ${ids}${attempt} -> ${outcome} in ${Date.now() - started} ms`,
    );
  }

  // Out of memory: split the batch in halves and remember the smaller size for this worker.
  private shrink(batch: Batch<I>, status: WorkerStatus, message: string): void {
    const size = batch.items.length;
    if (size === 1)
      return this.retry(
        batch.items,
        batch.attempts,
        `out of memory: ${message}`,
      );
    const half = Math.ceil(size / 2);
    this.limits[this.workers.indexOf(status)] = half;
    this.options.log?.(
      `worker ${status.label}: out of memory at batch ${size}, retrying as ${half}`,
    );
    this.queue.unshift(
      { items: batch.items.slice(0, half), attempts: batch.attempts },
      { items: batch.items.slice(half), attempts: batch.attempts },
    );
  }

  private wakeAll(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  private retry(items: I[], attempts: number, cause: string): void {
    if (attempts + 1 >= this.options.maxAttempts) {
      for (const item of items) this.failures.set(item.id, cause);
      return;
    }
    this.queue.push({ items, attempts: attempts + 1 });
  }

  private failRemaining(cause: string): void {
    if (this.stopped) return;
    for (const batch of this.queue.splice(0)) {
      for (const item of batch.items) this.failures.set(item.id, cause);
    }
  }

  private async stopAll(): Promise<void> {
    await Promise.all(this.running.map((worker) => worker?.stop()));
  }
}
