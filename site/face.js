// Picks and loads a face for the grid and scroll pages, skipping missing or broken files.
import { randomId, exampleUrl } from "./config.js";
import { loadImage } from "./preload.js";

const MAX_ATTEMPTS = 8; // ids tried for one cell before it keeps what it has

/**
 * A decoded face whose id is not in `avoid` when possible, or null when every try failed.
 * Each id is held in `claimed` while it loads, so faces loading side by side differ.
 */
export async function loadFace(
  config,
  avoid,
  attempts = MAX_ATTEMPTS,
  claimed = new Set(),
) {
  const tried = new Set(avoid);
  for (let attempt = 0; attempt < attempts; attempt++) {
    const id = randomId(config, new Set([...tried, ...claimed]));
    tried.add(id);
    claimed.add(id);
    try {
      const alt = `Anime face no. ${id}`;
      return { id, image: await loadImage(exampleUrl(config, id), alt) };
    } catch (error) {
      console.warn(`skipping id ${id}: ${error.message}`);
    } finally {
      claimed.delete(id);
    }
  }
  return null;
}

/** Puts a decoded face into a cell in place of the one it showed. */
export function placeFace(cell, { id, image }) {
  const old = cell.querySelector("img");
  if (old) old.replaceWith(image);
  else cell.append(image);
  cell.dataset.id = String(id);
}

/** Counts a swap on the body, for people and tests watching the page. */
export function countSwap() {
  const swaps = Number(document.body.dataset.swaps || 0) + 1;
  document.body.dataset.swaps = String(swaps);
}
