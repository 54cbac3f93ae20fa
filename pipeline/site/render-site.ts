// The site stage: renders the page sources into OUT/site with the ids and prefix baked in.
import { mkdir, readFile, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import fg from "fast-glob";
import { badInput } from "../errors.ts";
import { findIds } from "./find-ids.ts";
import { toRanges, type IdRange } from "./id-ranges.ts";
import { writeFileAtomic } from "../atomic.ts";

/** Where the page sources live in this checkout. */
export const SOURCES = fileURLToPath(new URL("../../site/", import.meta.url));

export interface SiteOptions {
  out: string; // the folder holding site/
  prefix: string; // "" or a folder like "v2/" under site/ holding the faces and snippets
  ranges?: IdRange[]; // the ids to show; found in site/<prefix> when absent
}

export interface RenderedSite {
  folder: string; // OUT/site
  ranges: IdRange[];
  files: string[]; // names written, relative to folder
}

/** Renders every page source; an empty set of ids is an error naming the folder searched. */
export async function renderSite(options: SiteOptions): Promise<RenderedSite> {
  const folder = path.join(options.out, "site");
  await refuseNonFolder(options.out);
  const ranges = options.ranges ?? (await discover(folder, options.prefix));
  await mkdir(folder, { recursive: true });
  const config = configJson(options.prefix, ranges);
  const names = await fg("*", { cwd: SOURCES, onlyFiles: true });
  for (const name of names) {
    const source = await readFile(path.join(SOURCES, name));
    const text = bake(name, source.toString("utf8"), config, options.prefix);
    await writeFileAtomic(path.join(folder, name), text ?? source);
  }
  return { folder, ranges, files: names.sort() };
}

async function refuseNonFolder(out: string): Promise<void> {
  const info = await stat(out).catch(() => null);
  if (info && !info.isDirectory()) {
    throw badInput("--out", "a folder holding site/", `${out} (a file)`);
  }
}

async function discover(folder: string, prefix: string): Promise<IdRange[]> {
  const where = path.join(folder, prefix);
  const ids = await findIds(where);
  if (ids.length === 0) {
    throw badInput(
      "--out",
      `example-<id>.jpg and snippet-<id>.txt pairs in ${where} (or --count / --ids)`,
      "no pairs",
    );
  }
  return toRanges(ids);
}

// The page reads this from a JSON script element; "<" is escaped so it cannot end the element.
function configJson(prefix: string, ranges: IdRange[]): string {
  return JSON.stringify({ prefix, ranges }).replace(/</g, "\\u003c");
}

// Fills the placeholders of pages and robots.txt; other files are copied as they are.
function bake(
  name: string,
  text: string,
  config: string,
  prefix: string,
): string | null {
  if (name.endsWith(".html")) {
    if (!text.includes("{{config}}")) {
      throw new Error(`${path.join(SOURCES, name)}: no {{config}} placeholder`);
    }
    return text.replace("{{config}}", () => config);
  }
  if (name === "robots.txt") return text.replaceAll("{{prefix}}", prefix);
  return null;
}
