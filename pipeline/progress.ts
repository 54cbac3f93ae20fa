// Progress on stderr: a redrawn bar on a terminal, periodic plain lines otherwise.
import type { WorkerStatus } from "./pool.ts";

export interface ProgressOptions {
  stage: string;
  total: number;
  tty?: boolean;
  /** Seconds between plain lines when stderr is not a terminal. */
  every?: number;
  workers?: () => WorkerStatus[];
  write?: (text: string) => void;
}

/** Counts finished items and shows count, rate, ETA and what each worker is doing. */
export class Progress {
  done = 0;
  failed = 0;
  private started = Date.now();
  private lastPlain = Date.now();
  private timer?: NodeJS.Timeout;
  private readonly tty: boolean;
  private readonly write: (text: string) => void;

  constructor(private readonly options: ProgressOptions) {
    this.tty = options.tty ?? Boolean(process.stderr.isTTY);
    this.write = options.write ?? ((text) => process.stderr.write(text));
    if (this.tty) this.timer = setInterval(() => this.draw(), 200);
  }

  add(done: number, failed = 0): void {
    this.done += done;
    this.failed += failed;
    const every = (this.options.every ?? 10) * 1000;
    if (!this.tty && Date.now() - this.lastPlain >= every) {
      this.lastPlain = Date.now();
      this.write(this.line() + "\n");
    }
  }

  /** Items per second since the start. */
  rate(): number {
    const seconds = (Date.now() - this.started) / 1000;
    return seconds > 0 ? this.done / seconds : 0;
  }

  elapsed(): number {
    return (Date.now() - this.started) / 1000;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.tty) this.write("\r\x1b[2K");
  }

  line(): string {
    const { stage, total } = this.options;
    const percent = total ? Math.floor((100 * this.done) / total) : 100;
    const rate = this.rate();
    const eta = rate > 0 ? formatDuration((total - this.done) / rate) : "?";
    const workers = (this.options.workers?.() ?? [])
      .map(describeWorker)
      .join(" ");
    const bar = this.tty ? ` ${renderBar(this.done / Math.max(total, 1))}` : "";
    const parts = [
      `${stage}${bar} ${this.done}/${total} (${percent}%)`,
      `${rate.toFixed(1)}/s`,
      `ETA ${eta}`,
    ];
    if (this.failed) parts.push(`${this.failed} failed`);
    return parts.join(" | ") + (workers ? ` | ${workers}` : "");
  }

  private draw(): void {
    const width = process.stderr.columns || 120;
    this.write(`\r\x1b[2K${this.line().slice(0, width - 1)}`);
  }
}

function describeWorker(worker: WorkerStatus): string {
  const state =
    worker.state === "busy" ? `busy:${worker.batchSize}` : worker.state;
  return `${worker.label}=${state}`;
}

function renderBar(fraction: number, width = 24): string {
  const filled = Math.round(Math.min(1, fraction) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

/** 75 -> "1m15s", 4000 -> "1h06m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600)
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
