// The config file (data/twdne.config.json): face groups and stage defaults.
import fs from "node:fs";
import path from "node:path";
import { badInput, UserError } from "./errors.ts";
import { parseIdList } from "./ids.ts";
import { projectRoot } from "./python.ts";

/** The config used without --config: $TWDNE_CONFIG, else data/twdne.config.json. */
export const DEFAULT_CONFIG =
  process.env.TWDNE_CONFIG ||
  path.join(projectRoot, "data", "twdne.config.json");

/** A face group: ids, their seeds (default: the ids), and the truncation psi. */
export interface FaceGroup {
  ids: string;
  seeds?: string;
  psi: number;
}

export interface FacesConfig {
  network?: string;
  kind?: string;
  noise_mode?: string;
  class?: number | null;
  batch?: number;
  groups?: FaceGroup[];
}

export interface Config {
  file?: string;
  faces: FacesConfig;
  [stage: string]: unknown;
}

/** One face to make: its id (the file name), seed and psi. */
export interface FaceTarget {
  id: number;
  seed: number;
  psi: number;
}

/**
 * Reads a config file. The default path may be absent (flags then say it all);
 * a named one must exist. Relative paths inside are resolved against the
 * config file's folder.
 */
export function loadConfig(file: string | undefined): Config {
  const chosen = file ?? DEFAULT_CONFIG;
  if (!fs.existsSync(chosen)) {
    if (file)
      throw badInput(
        "--config",
        "an existing JSON file",
        `${file} (no such file)`,
      );
    return { faces: {} };
  }
  let parsed: any;
  try {
    parsed = JSON.parse(fs.readFileSync(chosen, "utf8"));
  } catch (error) {
    throw new UserError(
      `${chosen}: expected JSON, received text that does not parse (${(error as Error).message})`,
    );
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new UserError(
      `${chosen}: expected a JSON object, received ${typeof parsed}`,
    );
  }
  return {
    ...parsed,
    file: chosen,
    faces: resolvePaths(parsed.faces ?? {}, chosen),
  };
}

function resolvePaths(faces: FacesConfig, file: string): FacesConfig {
  if (!faces.network) return faces;
  return { ...faces, network: path.resolve(path.dirname(file), faces.network) };
}

/** Checks a psi value from a flag or a config group. */
export function checkPsi(value: unknown, where: string): number {
  const psi =
    typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof psi !== "number" || !Number.isFinite(psi) || psi < -2 || psi > 2) {
    throw badInput(where, "a number from -2 to 2 (truncation psi)", value);
  }
  return psi;
}

/** Expands groups into targets in group order, refusing ids that appear twice. */
export function expandGroups(groups: FaceGroup[], where: string): FaceTarget[] {
  const targets: FaceTarget[] = [];
  const owner = new Map<number, number>();
  groups.forEach((group, index) => {
    const label = `${where}[${index}]`;
    const ids = parseIdList(group.ids, `${label}.ids`);
    const seeds =
      group.seeds === undefined
        ? ids
        : parseIdList(group.seeds, `${label}.seeds`);
    if (seeds.length !== ids.length) {
      throw badInput(
        `${label}.seeds`,
        `${ids.length} seeds, one per id`,
        `${seeds.length} seeds`,
      );
    }
    const psi = checkPsi(group.psi, `${label}.psi`);
    ids.forEach((id, i) => {
      if (owner.has(id)) {
        throw badInput(
          `${label}.ids`,
          `ids not already in group ${owner.get(id)}`,
          `id ${id} again`,
        );
      }
      owner.set(id, index);
      targets.push({ id, seed: seeds[i], psi });
    });
  });
  return targets;
}
