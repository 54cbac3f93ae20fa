// Atomic file writes: a temporary name in the same folder, then rename.
import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";

const TEMP_MARK = ".tmp-";

/** A temporary name beside `file`, unique to this process, hidden from globs of outputs. */
export function tempPathFor(file: string): string {
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}${TEMP_MARK}${process.pid}`,
  );
}

/** Writes `data` to `file` so that `file` is either absent, old, or complete. */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
): Promise<void> {
  const temp = `${tempPathFor(file)}-${crypto.randomBytes(4).toString("hex")}`;
  await fs.mkdir(path.dirname(file), { recursive: true });
  try {
    await fs.writeFile(temp, data);
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

/** Removes temporary files a killed run left in `dir`; returns how many. */
export async function removeStaleTemps(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return 0;
  }
  const stale = names.filter(
    (name) => name.startsWith(".") && name.includes(TEMP_MARK),
  );
  await Promise.all(
    stale.map((name) => fs.rm(path.join(dir, name), { force: true })),
  );
  return stale.length;
}
