// A stable hash of the settings that made an output, for resume decisions.
import crypto from "node:crypto";

/** JSON with object keys sorted, so equal settings always serialise alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The first 16 hex digits of the sha256 of the canonical settings. */
export function settingsKey(settings: Record<string, unknown>): string {
  return crypto
    .createHash("sha256")
    .update(canonicalJson(settings))
    .digest("hex")
    .slice(0, 16);
}
