// The single-face page: a new face and snippet every interval, each fully loaded before it shows.
import {
  readConfig,
  randomId,
  exampleUrl,
  snippetUrl,
  readSeconds,
} from "./config.js";
import { loadImage, loadText } from "./preload.js";
import { showSnippet } from "./snippet.js";

const config = readConfig();
const interval = readSeconds("interval", 15, 0.01, 86400);
const MAX_ATTEMPTS = 8; // ids tried for one swap before the page says it failed
const calm = matchMedia("(prefers-reduced-motion: reduce)");

const figure = document.getElementById("face");
const snippet = document.getElementById("snippet");
const status = document.getElementById("status");
const pauseButton = document.getElementById("pause");
const refreshButton = document.getElementById("refresh");
const pauseLabel = document.getElementById("pause-label");
const pauseIcon = document.getElementById("pause-icon");

let current = null; // the id on screen
let upcoming = null; // promise of the next pair, loading in the background
let timer = 0;
let paused = false;
let busy = false;
let swaps = 0;

// Tries random ids until one has both a decodable face and a snippet.
async function preparePair() {
  const tried = new Set(current !== null && config.count > 1 ? [current] : []);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const id = randomId(config, tried);
    if (tried.has(id)) break; // every id has been tried
    tried.add(id);
    try {
      const alt = `An anime face drawn by a neural network (no. ${id})`;
      const [image, text] = await Promise.all([
        loadImage(exampleUrl(config, id), alt),
        loadText(snippetUrl(config, id)),
      ]);
      return { id, image, text };
    } catch (error) {
      console.warn(`skipping id ${id}: ${error.message}`);
    }
  }
  return null;
}

// Puts face and snippet on screen in the same task, so they change in one frame.
function show({ id, image, text }) {
  image.id = "image";
  const old = figure.querySelector("img");
  if (old) old.replaceWith(image);
  else figure.append(image);
  showSnippet(snippet, text);
  figure.dataset.id = snippet.dataset.id = String(id);
  current = id;
  document.body.dataset.swaps = String(++swaps);
  if (!calm.matches) {
    for (const node of [image, snippet]) {
      node.animate([{ opacity: 0.3 }, { opacity: 1 }], { duration: 350 });
    }
  }
  document.dispatchEvent(new CustomEvent("twdne:swap", { detail: { id } }));
}

async function advance() {
  if (busy) return;
  busy = true;
  clearTimeout(timer);
  const pair = await (upcoming ?? preparePair());
  upcoming = null;
  if (pair) show(pair);
  status.textContent = pair
    ? ""
    : "Sorry, no waifu could be loaded just now. Trying again shortly.";
  upcoming = preparePair();
  busy = false;
  schedule();
}

function schedule() {
  clearTimeout(timer);
  if (!paused) timer = setTimeout(advance, interval * 1000);
}

function setPaused(value) {
  paused = value;
  pauseButton.setAttribute("aria-pressed", String(paused));
  pauseLabel.textContent = paused ? "Resume" : "Pause";
  pauseIcon.textContent = paused ? "▶" : "‖";
  pauseButton.title = `${paused ? "Resume" : "Pause"} (space)`;
  document.body.dataset.paused = String(paused);
  if (paused) clearTimeout(timer);
  else if (!busy) schedule();
}

pauseButton.addEventListener("click", () => setPaused(!paused));
refreshButton.addEventListener("click", () => advance());
document.addEventListener("keydown", (event) => {
  if (event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
  // A focused button already answers space and Enter with a click.
  if (
    event.target.closest?.("button, a, input") &&
    /^( |Enter)$/.test(event.key)
  )
    return;
  if (event.key === " ") {
    event.preventDefault();
    setPaused(!paused);
  } else if (
    event.key === "r" ||
    event.key === "R" ||
    event.key === "ArrowRight"
  ) {
    event.preventDefault();
    advance();
  }
});

document.body.dataset.swaps = "0";
if (config.count === 0) status.textContent = "This site has no waifus yet.";
else advance();
