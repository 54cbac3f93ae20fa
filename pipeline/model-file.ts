// Model files: existence checks and sha256 for provenance.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import fg from "fast-glob";
import { UserError } from "./errors.ts";

/** Refuses a missing or empty model path with a message naming the flag. */
export function checkModelPath(file: string, flag: string): string {
  const absolute = path.resolve(file);
  let stat;
  try {
    stat = fs.statSync(absolute);
  } catch {
    throw new UserError(
      `${flag}: expected a model file, received ${file} (no such file)`,
    );
  }
  if (stat.isFile() && stat.size === 0) {
    throw new UserError(
      `${flag}: expected a model file, received ${file} (an empty file)`,
    );
  }
  return absolute;
}

/** sha256 of a file, or of a folder's files (relative names and bytes, sorted), as the sidecar does. */
export async function sha256Of(target: string): Promise<string> {
  const hash = crypto.createHash("sha256");
  if (!fs.statSync(target).isDirectory()) {
    await hashInto(hash, target);
    return hash.digest("hex");
  }
  const files = (
    await fg("**/*", { cwd: target, dot: true, onlyFiles: true })
  ).sort();
  for (const name of files) {
    hash.update(name + "\0");
    await hashInto(hash, path.join(target, name));
  }
  return hash.digest("hex");
}

async function hashInto(hash: crypto.Hash, file: string): Promise<void> {
  for await (const chunk of fs.createReadStream(file))
    hash.update(chunk as Buffer);
}
