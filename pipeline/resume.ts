// Resume: which jobs already have a complete output made with the same settings.
import path from "node:path";
import { checkOutput, type OutputFormat } from "./file-check.ts";
import type { ManifestEntry } from "./manifest.ts";

export interface PlannedJob {
  id: number;
  file: string;
  key: string;
}

export interface ResumePlan<J> {
  todo: J[];
  skipped: number;
  /** Why each redone id is redone (absent from this map: never made). */
  redo: Map<number, string>;
}

/**
 * Splits jobs into those to run and those whose output is valid: present,
 * complete, the size the manifest recorded, and made with the same settings.
 */
export async function planResume<J extends PlannedJob>(
  jobs: J[],
  outDir: string,
  manifest: Map<number, ManifestEntry>,
  format: OutputFormat,
  options: { force?: boolean; decode?: (file: string) => Promise<void> } = {},
): Promise<ResumePlan<J>> {
  const plan: ResumePlan<J> = { todo: [], skipped: 0, redo: new Map() };
  const verdicts = await mapLimit(jobs, 64, (job) =>
    options.force
      ? Promise.resolve("forced")
      : verdict(job, outDir, manifest, format, options.decode),
  );
  jobs.forEach((job, index) => {
    const why = verdicts[index];
    if (why === undefined) plan.skipped++;
    else {
      plan.todo.push(job);
      if (why !== "missing") plan.redo.set(job.id, why);
    }
  });
  return plan;
}

async function verdict(
  job: PlannedJob,
  outDir: string,
  manifest: Map<number, ManifestEntry>,
  format: OutputFormat,
  decode?: (file: string) => Promise<void>,
): Promise<string | undefined> {
  const entry = manifest.get(job.id);
  const file = path.join(outDir, job.file);
  if (!entry || entry.file !== job.file) {
    const problem = await checkOutput(file, format);
    return problem === "missing"
      ? "missing"
      : "no manifest record of its settings";
  }
  if (entry.key !== job.key) return "made with other settings";
  return checkOutput(file, format, entry.bytes, decode);
}

/** Maps with at most `limit` promises in flight, keeping order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from(
    { length: Math.min(limit, items.length) },
    async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await fn(items[index]);
      }
    },
  );
  await Promise.all(runners);
  return results;
}
