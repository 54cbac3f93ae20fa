// The grid page: faces fill the viewport, and one cell at a time changes to a new face.
import { readConfig, readSeconds } from "./config.js";
import { loadFace, placeFace, countSwap } from "./face.js";

const config = readConfig();
const interval = readSeconds("interval", 1.5, 0.01, 3600); // mean seconds between cell changes
const TARGET_CELLS = 24; // about this many faces on any screen
const grid = document.getElementById("grid");
const cells = [];
const loading = new Set(); // ids being loaded into some cell
let lastCell = -1;

// Sizes the cells so a whole number of columns spans the width and rows cover the height.
function layout() {
  const side = Math.sqrt((innerWidth * innerHeight) / TARGET_CELLS);
  const columns = Math.max(
    2,
    Math.round(innerWidth / Math.min(512, Math.max(80, side))),
  );
  const rows = Math.ceil(innerHeight / (innerWidth / columns));
  grid.style.setProperty("--columns", String(columns));
  while (cells.length < columns * rows) cells.push(addCell());
  while (cells.length > columns * rows) cells.pop().remove();
}

function addCell() {
  const cell = document.createElement("div");
  cell.className = "cell";
  grid.append(cell);
  fill(cell);
  return cell;
}

const shownIds = () => new Set(cells.map((cell) => Number(cell.dataset.id)));

async function fill(cell) {
  const face = await loadFace(config, shownIds(), undefined, loading);
  if (face && cell.isConnected) {
    placeFace(cell, face);
    countSwap();
  }
}

// Changes one random cell, waits for it, then plans the next change with some jitter.
async function tick() {
  if (cells.length > 1) {
    let index = Math.floor(Math.random() * cells.length);
    if (index === lastCell) index = (index + 1) % cells.length;
    lastCell = index;
    await fill(cells[index]);
  }
  setTimeout(tick, interval * 1000 * (0.5 + Math.random()));
}

let resizeTimer = 0;
addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(layout, 150);
});
if (config.count > 0) {
  layout();
  setTimeout(tick, interval * 1000);
}
