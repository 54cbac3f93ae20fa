// In-page recorders the page tests install before any page script runs.

/** What each swap looked like, read from the page the moment it happened. */
export interface SwapRecord {
  at: number; // ms since the page started
  id: number; // from the swap event
  figureId: string;
  snippetId: string;
  text: string;
  red: number; // red channel of the shown face's corner, which encodes its id
  complete: boolean;
  naturalWidth: number;
}

/** Every image put into the page, with its state at the moment of insertion. */
export interface InsertRecord {
  complete: boolean;
  naturalWidth: number;
  src: string;
}

// Runs in the page: records swaps and inserted images on window.__swaps and __inserted.
export function installProbe(): void {
  const w = window as any;
  w.__swaps = [];
  w.__inserted = [];
  w.__pwned = 0;
  w.__historyStart = history.length;
  document.addEventListener("twdne:swap", (event) => {
    const figure = document.getElementById("face")!;
    const snippet = document.getElementById("snippet")!;
    const image = figure.querySelector("img")!;
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 1;
    const context = canvas.getContext("2d")!;
    context.drawImage(image, 4, 4, 4, 4, 0, 0, 1, 1);
    w.__swaps.push({
      at: performance.now(),
      id: (event as CustomEvent).detail.id,
      figureId: figure.dataset.id,
      snippetId: snippet.dataset.id,
      text: snippet.textContent,
      red: context.getImageData(0, 0, 1, 1).data[0],
      complete: image.complete,
      naturalWidth: image.naturalWidth,
    });
  });
  new MutationObserver((mutations) => {
    for (const mutation of mutations) {
      for (const node of mutation.addedNodes) {
        if (!(node instanceof Element)) continue;
        const images =
          node instanceof HTMLImageElement
            ? [node]
            : node.querySelectorAll("img");
        for (const image of images) {
          w.__inserted.push({
            complete: image.complete,
            naturalWidth: image.naturalWidth,
            src: image.getAttribute("src"),
          });
        }
      }
    }
  }).observe(document, { childList: true, subtree: true });
}
