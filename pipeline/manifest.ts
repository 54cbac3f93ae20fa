// The provenance manifest: append-only JSON lines, one per finished file, last entry wins.
import fs from "node:fs";
import path from "node:path";

export interface ManifestEntry {
  id: number;
  /** The output's path relative to the run folder. */
  file: string;
  bytes: number;
  /** Hash of the settings that made the file; resume compares it. */
  key: string;
  time: string;
  [setting: string]: unknown;
}

/** The manifest file of a stage in a run folder. */
export function manifestPath(outDir: string, stage: string): string {
  return path.join(outDir, "manifests", `${stage}.jsonl`);
}

/**
 * Reads a manifest into id -> latest entry. A torn last line (a killed run)
 * and any other unreadable line are skipped, so a manifest never blocks a rerun.
 */
export function readManifest(file: string): Map<number, ManifestEntry> {
  const entries = new Map<number, ManifestEntry>();
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return entries;
  }
  for (const line of text.split("\n")) {
    const entry = parseLine(line);
    if (entry) entries.set(entry.id, entry);
  }
  return entries;
}

function parseLine(line: string): ManifestEntry | undefined {
  if (!line.trim()) return undefined;
  try {
    const entry = JSON.parse(line);
    return Number.isInteger(entry?.id) && typeof entry.key === "string"
      ? entry
      : undefined;
  } catch {
    return undefined;
  }
}

/** Appends entries as whole lines; starts on a fresh line if the last run tore one. */
export class ManifestWriter {
  private fd?: number;

  constructor(readonly file: string) {}

  append(entries: ManifestEntry[]): void {
    if (entries.length === 0) return;
    const text = entries.map((entry) => JSON.stringify(entry) + "\n").join("");
    fs.writeSync(this.open(), text);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  // Opened on the first entry, so a run that makes nothing leaves no file.
  private open(): number {
    if (this.fd !== undefined) return this.fd;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    this.fd = fs.openSync(this.file, "a+");
    if (endsMidLine(this.fd)) fs.writeSync(this.fd, "\n");
    return this.fd;
  }
}

function endsMidLine(fd: number): boolean {
  const size = fs.fstatSync(fd).size;
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  fs.readSync(fd, last, 0, 1, size - 1);
  return last[0] !== 0x0a;
}
