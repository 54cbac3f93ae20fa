// Reads the settings the site stage baked into the page, and names the files of an id.

/** The baked settings: the asset prefix and the ids as inclusive [first, last] ranges. */
export function readConfig() {
  const node = document.getElementById("config");
  const config = JSON.parse(node ? node.textContent : "{}");
  const ranges = Array.isArray(config.ranges) ? config.ranges : [];
  const count = ranges.reduce(
    (sum, [first, last]) => sum + last - first + 1,
    0,
  );
  return { prefix: String(config.prefix || ""), ranges, count };
}

/** The id at a position in 0..count-1, walking the ranges in order. */
export function idAt(config, index) {
  for (const [first, last] of config.ranges) {
    const size = last - first + 1;
    if (index < size) return first + index;
    index -= size;
  }
  return -1;
}

/** A random id unlike every id in `avoid`, unless the set holds nothing else. */
export function randomId(config, avoid) {
  const free = config.count - avoid.size;
  for (let tries = 0; tries < 64; tries++) {
    const id = idAt(config, Math.floor(Math.random() * config.count));
    if (!avoid.has(id) || free <= 0) return id;
  }
  // Random draws keep hitting the avoided ids: walk from a random start instead.
  const start = Math.floor(Math.random() * config.count);
  for (let step = 0; step < config.count; step++) {
    const id = idAt(config, (start + step) % config.count);
    if (!avoid.has(id)) return id;
  }
  return idAt(config, start);
}

export const exampleUrl = (config, id) => `${config.prefix}example-${id}.jpg`;
export const snippetUrl = (config, id) => `${config.prefix}snippet-${id}.txt`;

/** A number of seconds from the query string, or the fallback when absent or out of range. */
export function readSeconds(name, fallback, min, max) {
  const raw = new URLSearchParams(location.search).get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (
    raw.trim() !== "" &&
    Number.isFinite(value) &&
    value >= min &&
    value <= max
  )
    return value;
  console.warn(
    `?${name}: expected seconds from ${min} to ${max}, received ${raw}`,
  );
  return fallback;
}
