// One long-lived Python worker process speaking the line protocol (python/twdne/protocol.py).
import readline from "node:readline";
import { execa, type ResultPromise } from "execa";
import { UserError } from "./errors.ts";
import { describeExit, tail } from "./exit-reason.ts";
import { pythonEnv, pythonPath } from "./python.ts";

export interface Device {
  /** "cpu" or "cuda:N" as shown to people. */
  name: string;
  /** The GPU's index among those torch sees, if it is a GPU. */
  cudaIndex?: number;
  /** What the worker gets as CUDA_VISIBLE_DEVICES (an index, UUID or MIG name). */
  cudaVisible?: string;
}

export interface SidecarSpec {
  kind: string;
  model: string;
  device: Device;
  options?: Record<string, unknown>;
  threads?: number;
  /** Extra environment (tests use TWDNE_FAULT). */
  env?: Record<string, string>;
  /** Copy the worker's stderr to ours, prefixed with the label. */
  verbose?: boolean;
  label: string;
}

export type ModelInfo = Record<string, unknown> & { kind: string };

export interface ItemResult {
  id: number;
  error?: string;
  [field: string]: unknown;
}

export type Answer =
  | { ok: true; results: ItemResult[] }
  | { ok: false; error: { kind: string; message: string } };

/** The model file could not be loaded: retrying will not help. */
export class ModelLoadError extends UserError {}

/** The worker process ended while it owed an answer. */
export class SidecarExit extends Error {
  constructor(label: string, how: string, stderrTail: string) {
    const detail = stderrTail
      ? `\n  stderr: ${stderrTail.replace(/\n/g, "\n  ")}`
      : "";
    super(`worker ${label} ended with ${how}${detail}`);
    this.name = "SidecarExit";
  }
}

/** A sidecar process: start() loads the model, request() runs one batch. */
export class Sidecar {
  info?: ModelInfo;
  private process?: ResultPromise;
  private pending = new Map<number, (answer: Answer) => void>();
  private nextId = 1;
  private stderrLines: string[] = [];
  private exited?: Promise<SidecarExit>;
  private ready?: (info: ModelInfo) => void;

  constructor(readonly spec: SidecarSpec) {}

  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** Starts the process and resolves once the model is loaded. */
  async start(): Promise<ModelInfo> {
    this.process = execa(pythonPath(), this.args(), {
      env: pythonEnv(this.envFor()),
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      buffer: false,
      reject: false,
    });
    this.process.stdin!.on("error", () => {}); // a dead worker's pipe; exit explains it
    this.watchStderr();
    this.exited = this.whenExited();
    const loaded = new Promise<ModelInfo>((resolve) => (this.ready = resolve));
    this.watchStdout();
    const outcome = await Promise.race([loaded, this.exited]);
    if (outcome instanceof Error) {
      throw this.fatal ? new ModelLoadError(this.fatal) : outcome;
    }
    this.info = outcome;
    return outcome;
  }

  /** Sends one batch and waits for its answer; rejects with SidecarExit if the process dies. */
  async request(
    op: string,
    items: object[],
    params: Record<string, unknown>,
  ): Promise<Answer> {
    const id = this.nextId++;
    const answered = new Promise<Answer>((resolve) =>
      this.pending.set(id, resolve),
    );
    this.process!.stdin!.write(
      JSON.stringify({ id, op, items, params }) + "\n",
    );
    const outcome = await Promise.race([answered, this.exited!]);
    this.pending.delete(id);
    if (outcome instanceof Error) throw outcome;
    return outcome;
  }

  /** Asks the worker to quit, and kills it if it has not within `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.stdin?.end(JSON.stringify({ op: "quit" }) + "\n");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Ends the worker at once (Ctrl-C, or a worker that must be replaced). */
  kill(): void {
    this.process?.kill("SIGKILL");
  }

  private fatal?: string;

  private args(): string[] {
    const { kind, model, device, options, threads } = this.spec;
    const args = ["-m", "twdne.worker", "--kind", kind, "--model", model];
    args.push("--device", device.cudaIndex === undefined ? "cpu" : "cuda");
    args.push("--options", JSON.stringify(options ?? {}));
    if (threads) args.push("--threads", String(threads));
    return args;
  }

  private envFor(): Record<string, string> {
    const { device, env } = this.spec;
    const cuda = device.cudaVisible ?? "";
    return { CUDA_VISIBLE_DEVICES: cuda, ...(env ?? {}) };
  }

  private watchStdout(): void {
    const lines = readline.createInterface({ input: this.process!.stdout! });
    lines.on("line", (line) => this.onLine(line));
  }

  private onLine(line: string): void {
    let message: any;
    try {
      message = JSON.parse(line);
    } catch {
      this.stderrLines.push(`(stdout) ${line}`);
      return;
    }
    if (message.event === "ready") this.ready?.(message.info);
    else if (message.event === "fatal") this.fatal = message.error?.message;
    else this.pending.get(message.id)?.(message as Answer);
  }

  private watchStderr(): void {
    const lines = readline.createInterface({ input: this.process!.stderr! });
    lines.on("line", (line) => {
      this.stderrLines.push(line);
      if (this.stderrLines.length > 40) this.stderrLines.shift();
      if (this.spec.verbose)
        process.stderr.write(`[${this.spec.label}] ${line}\n`);
    });
  }

  private async whenExited(): Promise<SidecarExit> {
    const result = await this.process!;
    await new Promise((resolve) => setImmediate(resolve)); // let the last lines arrive
    const how = describeExit(result.exitCode ?? null, result.signal ?? null);
    return new SidecarExit(
      this.spec.label,
      how,
      tail(this.stderrLines.join("\n")),
    );
  }
}
