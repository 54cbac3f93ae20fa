// A pool worker that makes items in this process (sharp resizing, an external program).
import type { Answer, ItemResult, ModelInfo } from "./sidecar.ts";
import { SidecarExit } from "./sidecar.ts";

/** Work done in the orchestrator itself, one item at a time per lane. */
export interface LocalExecutor {
  /** Shown in progress and recorded as the worker, e.g. "lanczos". */
  label: string;
  /** Lanes, each a worker of the pool. */
  concurrency: number;
  /** Makes one item; an error result or a rejection is retried like a sidecar item error. */
  run: (
    request: Record<string, unknown> & { id: number; out: string },
    signal: AbortSignal,
  ) => Promise<ItemResult>;
}

/** Speaks to the pool like a sidecar, so retries and reporting are the same for both. */
export class LocalWorker {
  private abort = new AbortController();

  constructor(
    private readonly executor: LocalExecutor,
    private readonly label: string,
  ) {}

  async start(): Promise<ModelInfo> {
    this.abort = new AbortController();
    return { kind: this.executor.label };
  }

  /** Runs the batch's items one after another; stopping rejects as a worker exit would. */
  async request(
    _op: string,
    items: object[],
    _params: unknown,
  ): Promise<Answer> {
    const results: ItemResult[] = [];
    for (const item of items as Parameters<LocalExecutor["run"]>[0][]) {
      const result = await this.executor
        .run(item, this.abort.signal)
        .catch((error: Error) => ({ id: item.id, error: error.message }));
      if (this.abort.signal.aborted) {
        throw new SidecarExit(this.label, "a stop request", "");
      }
      results.push(result);
    }
    return { ok: true, results };
  }

  async stop(): Promise<void> {}

  kill(): void {
    this.abort.abort();
  }
}
