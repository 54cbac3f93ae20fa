// Where the Python sidecar lives and which interpreter runs it.
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The project root (the folder that holds pipeline/ and python/). */
export const projectRoot = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
);

/** The interpreter: $PYTHON (a CUDA torch in a venv or conda) or Debian's python3. */
export function pythonPath(): string {
  return process.env.PYTHON || "/usr/bin/python3";
}

/** The environment a sidecar runs in: python/ importable, unbuffered output. */
export function pythonEnv(
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const sidecar = path.join(projectRoot, "python");
  const existing = process.env.PYTHONPATH;
  return {
    ...process.env,
    PYTHONPATH: existing ? `${sidecar}${path.delimiter}${existing}` : sidecar,
    PYTHONUNBUFFERED: "1",
    ...extra,
  };
}
