import t from "tap";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import type { Page } from "playwright-core";
import { start } from "../pipeline/serve/static-server.ts";
import { renderSite } from "../pipeline/site/render-site.ts";
import { launchBrowser } from "./helpers/site-browser.ts";
import { makeSiteFolder } from "./helpers/site-fixture.ts";
import { installProbe, type InsertRecord } from "./helpers/site-page-probe.ts";

const SHOTS = path.join(import.meta.dirname, "out", "site");
await mkdir(SHOTS, { recursive: true });

const out = await makeSiteFolder(12);
await renderSite({ out, prefix: "" });
const server = await start(path.join(out, "site"), 0);
const browser = await launchBrowser();
t.teardown(async () => {
  await browser.close();
  await server.close();
  await rm(out, { recursive: true, force: true });
});

// What a grid of points across the viewport lands on: a loaded face, or something else.
function sampleViewport(page: Page, steps = 9) {
  return page.evaluate((steps) => {
    const hits: string[] = [];
    for (let i = 0; i < steps; i++) {
      for (let j = 0; j < steps; j++) {
        const x = ((i + 0.5) / steps) * innerWidth;
        const y = ((j + 0.5) / steps) * innerHeight;
        const node = document.elementFromPoint(x, y);
        const face =
          node instanceof HTMLImageElement &&
          node.complete &&
          node.naturalWidth > 0 &&
          !node.closest(".empty");
        hits.push(face ? "face" : `${node?.tagName}.${node?.className}`);
      }
    }
    return hits;
  }, steps);
}

const cellIds = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>(".cell")].map(
      (c) => c.dataset.id,
    ),
  );

t.test(
  "the grid covers the viewport and changes one cell at a time",
  async (t) => {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
    });
    t.teardown(() => context.close());
    const page = await context.newPage();
    await page.addInitScript(installProbe);
    await page.goto(`${server.url}grid.html?interval=0.15`);
    await page.waitForFunction(() =>
      [...document.querySelectorAll(".cell")].every((cell) =>
        cell.querySelector("img"),
      ),
    );
    const hits = await sampleViewport(page);
    t.same(
      hits.filter((hit) => hit !== "face" && hit !== "A.home"),
      [],
      "every sampled point shows a face",
    );
    const size = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      cells: document.querySelectorAll(".cell").length,
    }));
    t.ok(size.scrollWidth <= 1280, "no horizontal overflow");

    // Changes come one cell at a time, each face decoded before it went in.
    const before = await cellIds(page);
    const swapsBefore = await page.evaluate(() =>
      Number(document.body.dataset.swaps),
    );
    await page.waitForTimeout(1500);
    const after = await cellIds(page);
    const changed = after.filter((id, i) => id !== before[i]).length;
    const swaps =
      (await page.evaluate(() => Number(document.body.dataset.swaps))) -
      swapsBefore;
    t.ok(changed >= 2, `${changed} of ${size.cells} cells changed`);
    t.ok(
      swaps >= changed && swaps <= 1500 / (0.15 * 500) + 1,
      `${swaps} single-cell swaps`,
    );
    const inserted: InsertRecord[] = await page.evaluate(
      () => (window as any).__inserted,
    );
    t.ok(inserted.length >= size.cells + changed);
    t.ok(
      inserted.every((image) => image.complete && image.naturalWidth > 0),
      "all preloaded",
    );
    await page.screenshot({
      path: path.join(SHOTS, "grid-1280x800.png"),
      animations: "disabled",
    });
  },
);

t.test("the scroll page loads rows ahead and keeps a fixed pool", async (t) => {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
  });
  t.teardown(() => context.close());
  const page = await context.newPage();
  const faceRequests: string[] = [];
  page.on("request", (request) => {
    if (request.url().includes("/example-")) faceRequests.push(request.url());
  });
  await page.goto(`${server.url}scroll.html`);
  await page.waitForFunction(
    () => Number(document.body.dataset.rowsLoaded) > 0,
  );
  await page.waitForTimeout(300);
  const start = await page.evaluate(() => ({
    rows: document.querySelectorAll(".row").length,
    columns: document.querySelector(".row")!.children.length,
    rowHeight: document
      .querySelector<HTMLElement>(".row")!
      .getBoundingClientRect().height,
    loaded: Number(document.body.dataset.rowsLoaded),
  }));
  t.ok(
    start.loaded < start.rows,
    `${start.loaded} of ${start.rows} rows loaded before scrolling`,
  );
  t.ok(
    faceRequests.length <= start.loaded * start.columns,
    "no faces fetched for far rows",
  );
  t.same(
    (await sampleViewport(page, 5)).filter(
      (hit) => hit !== "face" && hit !== "A.home",
    ),
    [],
    "the first screen is full of faces",
  );

  // Scroll down 200 rows, a few rows per frame, like a fast reader.
  for (let step = 0; step < 50; step++) {
    await page.evaluate(
      (dy) =>
        new Promise((resolve) => {
          scrollBy(0, dy);
          requestAnimationFrame(resolve);
        }),
      4 * start.rowHeight,
    );
  }
  // The rows now on screen finish loading shortly after the scrolling stops.
  const notFaces = async () =>
    (await sampleViewport(page, 5)).filter(
      (hit) => hit !== "face" && hit !== "A.home",
    );
  for (let wait = 0; wait < 30 && (await notFaces()).length > 0; wait++) {
    await page.waitForTimeout(100);
  }
  const end = await page.evaluate(() => ({
    rows: document.querySelectorAll(".row").length,
    images: document.querySelectorAll("img").length,
    nodes: document.querySelectorAll("*").length,
    top: Math.floor(
      scrollY / document.querySelector<HTMLElement>(".row")!.offsetHeight,
    ),
    scrollWidth: document.documentElement.scrollWidth,
  }));
  t.ok(end.top >= 200, `scrolled to row ${end.top}`);
  t.equal(end.rows, start.rows, "the same row elements, recycled");
  t.ok(
    end.images <= start.rows * start.columns,
    `${end.images} images in the page`,
  );
  t.ok(
    end.nodes < 20 + start.rows * (start.columns * 2 + 1),
    `${end.nodes} elements`,
  );
  t.ok(end.scrollWidth <= 1280, "no horizontal overflow");
  t.same(
    (await sampleViewport(page, 5)).filter(
      (hit) => hit !== "face" && hit !== "A.home",
    ),
    [],
    "the screen after scrolling is full of faces",
  );
  await page.screenshot({
    path: path.join(SHOTS, "scroll-1280x800.png"),
    animations: "disabled",
  });
});
