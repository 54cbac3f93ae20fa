// The endless scroll page: a fixed pool of rows is moved along, each row loading as it nears view.
import { readConfig, idAt, exampleUrl } from "./config.js";
import { loadImage } from "./preload.js";
import { loadFace, placeFace } from "./face.js";

const config = readConfig();
const OVERSCAN = 3; // rows kept placed above and below the viewport
const COLUMN_WIDTH = 240; // about this many pixels per face
const seed = Math.floor(Math.random() * 2 ** 31); // a new order on every visit

const sheet = document.getElementById("sheet");
let pool = []; // { node, row, loaded }
let columns = 0;
let rowHeight = 0;
let totalRows = 0;
let rowsLoaded = 0;

// Loads a row's faces once its element comes within half a viewport of the screen.
const watcher = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting)
        loadRow(pool.find((slot) => slot.node === entry.target));
    }
  },
  { rootMargin: "50% 0px" },
);

// The same row and column always give the same id within a visit: scrolling back finds them.
function idFor(row, column) {
  let h = Math.imul(seed ^ (row * columns + column), 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return idAt(config, ((h ^ (h >>> 16)) >>> 0) % config.count);
}

function loadRow(slot) {
  if (!slot || slot.loaded === slot.row) return;
  const row = (slot.loaded = slot.row);
  slot.node.querySelectorAll(".cell").forEach(async (cell, column) => {
    const id = idFor(row, column);
    const face = await loadImage(
      exampleUrl(config, id),
      `Anime face no. ${id}`,
    ).then(
      (image) => ({ id, image }),
      () => loadFace(config, new Set([id]), 4),
    );
    if (face && slot.row === row) {
      placeFace(cell, face);
      cell.classList.remove("empty");
    }
  });
  slot.node.dataset.row = String(row);
  document.body.dataset.rowsLoaded = String(++rowsLoaded);
}

// Builds the pool: enough rows for one screen plus the overscan on both sides.
function layout() {
  columns = Math.max(2, Math.round(sheet.clientWidth / COLUMN_WIDTH));
  rowHeight = sheet.clientWidth / columns;
  const size = Math.ceil(innerHeight / rowHeight) + 2 * OVERSCAN + 1;
  for (const slot of pool) slot.node.remove();
  watcher.disconnect();
  pool = Array.from({ length: size }, () => ({
    node: makeRow(),
    row: -1,
    loaded: -1,
  }));
  sheet.style.setProperty("--columns", String(columns));
  sheet.style.setProperty("--row-height", `${rowHeight}px`);
  place();
}

function makeRow() {
  const node = document.createElement("div");
  node.className = "row";
  for (let column = 0; column < columns; column++) {
    const cell = document.createElement("div");
    cell.className = "cell empty";
    node.append(cell);
  }
  sheet.append(node);
  return node;
}

// Moves rows that left the screen to the rows about to enter it, and grows the sheet ahead.
function place() {
  const top = Math.floor(scrollY / rowHeight);
  const first = Math.max(0, top - OVERSCAN);
  totalRows = Math.max(totalRows, first + pool.length * 3);
  sheet.style.height = `${totalRows * rowHeight}px`;
  for (let row = first; row < first + pool.length; row++) {
    const slot = pool[row % pool.length];
    if (slot.row === row) continue;
    slot.row = row;
    slot.node.style.transform = `translateY(${row * rowHeight}px)`;
    slot.node
      .querySelectorAll(".cell")
      .forEach((cell) => cell.classList.add("empty"));
    // Observing afresh reports the row's state now, even if it moved from view to view.
    watcher.unobserve(slot.node);
    watcher.observe(slot.node);
  }
}

let frame = 0;
addEventListener("scroll", () => {
  if (!frame) frame = requestAnimationFrame(() => ((frame = 0), place()));
});
let resizeTimer = 0;
addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(layout, 150);
});
if (config.count > 0) layout();
