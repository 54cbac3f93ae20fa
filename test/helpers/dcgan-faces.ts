// Real DCGAN faces made once per test file, copied into each test's run folder.
import fs from "node:fs";
import path from "node:path";
import { DCGAN, tempDir, twdne } from "./cli.ts";

type Teardown = { teardown: (fn: () => void) => void };

/**
 * Registers a before-hook on `t` that makes faces for seeds 0-7, and returns
 * `runFolder(t, name)`, a fresh run folder holding a copy of them.
 */
export function dcganFaces(
  t: Teardown & { before: (fn: () => Promise<void>) => void },
  name: string,
) {
  let facesDir = "";
  t.before(async () => {
    facesDir = tempDir(t, name);
    const args = ["faces", "--network", DCGAN, "--seeds", "0-7"];
    const made = await twdne([...args, "--out", facesDir, "--devices", "cpu"]);
    if (made.code !== 0) throw new Error(made.stderr);
  });
  return (t: Teardown, run: string): string => {
    const out = tempDir(t, run);
    fs.cpSync(path.join(facesDir, "faces"), path.join(out, "faces"), {
      recursive: true,
      preserveTimestamps: true,
    });
    return out;
  };
}
