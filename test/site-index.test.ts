import t, { type Test } from "tap";
import { mkdir, rm, writeFile, unlink } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import path from "node:path";
import type { Browser, BrowserContextOptions, Page } from "playwright-core";
import { start, type RunningServer } from "../pipeline/serve/static-server.ts";
import { renderSite } from "../pipeline/site/render-site.ts";
import type { IdRange } from "../pipeline/site/id-ranges.ts";
import { launchBrowser } from "./helpers/site-browser.ts";
import { idFromRed, makeSiteFolder } from "./helpers/site-fixture.ts";
import {
  installProbe,
  type InsertRecord,
  type SwapRecord,
} from "./helpers/site-page-probe.ts";

const SHOTS = path.join(import.meta.dirname, "out", "site");
await mkdir(SHOTS, { recursive: true });

// A rendered site of `count` faces, changed by `damage`, served on a free port.
async function servedSite(
  count: number,
  damage: (site: string) => Promise<void> = async () => {},
  ranges?: IdRange[],
): Promise<RunningServer> {
  const out = await makeSiteFolder(count);
  const site = path.join(out, "site");
  await damage(site);
  await renderSite({ out, prefix: "", ranges });
  const server = await start(site, 0);
  t.teardown(async () => {
    await server.close();
    await rm(out, { recursive: true, force: true });
  });
  return server;
}

const browser: Browser = await launchBrowser();
t.teardown(() => browser.close());
const site = await servedSite(12);

// A page in a fresh context with the probe installed, its console warnings collected.
async function open(t: Test, url: string, options: BrowserContextOptions = {}) {
  const context = await browser.newContext(options);
  t.teardown(() => context.close());
  const page = await context.newPage();
  const warnings: string[] = [];
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (message) => warnings.push(message.text()));
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("request", (request) =>
    requests.push(new URL(request.url()).pathname),
  );
  await page.addInitScript(installProbe);
  await page.goto(url);
  return { page, warnings, errors, requests };
}

const swapsOf = (page: Page): Promise<SwapRecord[]> =>
  page.evaluate(() => (window as any).__swaps);
const insertedOf = (page: Page): Promise<InsertRecord[]> =>
  page.evaluate(() => (window as any).__inserted);
const swapCount = (page: Page) =>
  page.evaluate(() => Number(document.body.dataset.swaps));
const waitForSwaps = (page: Page, n: number, timeout = 10_000) =>
  page.waitForFunction((n) => Number(document.body.dataset.swaps) >= n, n, {
    timeout,
  });

t.test("pairs appear together, at the interval, fully loaded", async (t) => {
  const { page, errors } = await open(t, `${site.url}index.html?interval=0.3`);
  await waitForSwaps(page, 6);
  const swaps = await swapsOf(page);
  for (const swap of swaps) {
    t.equal(String(swap.id), swap.figureId, "figure carries the id");
    t.equal(String(swap.id), swap.snippetId, "snippet carries the id");
    t.equal(
      idFromRed(swap.red),
      swap.id,
      "the face shown is the face of that id",
    );
    t.match(
      swap.text,
      `Snippet ${swap.id}.`,
      "the text shown is the text of that id",
    );
    t.ok(swap.complete && swap.naturalWidth > 0, "decoded when shown");
  }
  const gaps = swaps.slice(1).map((swap, i) => swap.at - swaps[i].at);
  for (const gap of gaps)
    t.ok(gap >= 280 && gap < 1500, `swap after ${gap.toFixed(0)} ms`);
  const inserted = await insertedOf(page);
  t.ok(inserted.length >= 6);
  t.ok(
    inserted.every((image) => image.complete && image.naturalWidth > 0),
    "no image went into the page before it was loaded",
  );

  // Accessible names, alt text, a polite live region, and no history entries.
  t.equal(await page.getByRole("button", { name: "Another" }).count(), 1);
  t.equal(await page.getByRole("button", { name: "Pause" }).count(), 1);
  t.match(
    await page.getAttribute("#face img", "alt"),
    /anime face .*no\. \d+/i,
  );
  t.equal(await page.getAttribute("#snippet", "aria-live"), "polite");
  t.equal(
    await page.evaluate(() => history.length - (window as any).__historyStart),
    0,
    "no history entries",
  );
  t.equal(page.url(), `${site.url}index.html?interval=0.3`);
  t.same(errors, []);
});

t.test(
  "pause stops swaps, resume restarts them, refresh swaps at once",
  async (t) => {
    const { page } = await open(t, `${site.url}index.html?interval=0.3`);
    await waitForSwaps(page, 1);
    await page.getByRole("button", { name: "Pause" }).click();
    t.equal(await page.getAttribute("#pause", "aria-pressed"), "true");
    t.equal(await page.getByRole("button", { name: "Resume" }).count(), 1);
    const paused = await swapCount(page);
    await page.waitForTimeout(1000);
    t.equal(await swapCount(page), paused, "no swaps while paused");

    // Space on the page (not on a button) resumes, then pauses again.
    await page.evaluate(() => (document.activeElement as HTMLElement).blur());
    await page.keyboard.press(" ");
    await waitForSwaps(page, paused + 1, 2000);
    t.pass("space resumed the swaps");
    await page.keyboard.press(" ");
    t.equal(await page.getAttribute("#pause", "aria-pressed"), "true");
    await page.waitForTimeout(400);
    const before = await swapCount(page);

    // Each way of asking for another face swaps once, and soon, while still paused.
    const delay = (trigger: string) =>
      page.evaluate(
        (trigger) =>
          new Promise<number>((resolve) => {
            const t0 = performance.now();
            document.addEventListener(
              "twdne:swap",
              () => resolve(performance.now() - t0),
              {
                once: true,
              },
            );
            if (trigger === "click")
              document.getElementById("refresh")!.click();
            else
              document.dispatchEvent(
                new KeyboardEvent("keydown", { key: trigger }),
              );
          }),
        trigger,
      );
    for (const trigger of ["r", "ArrowRight", "click"]) {
      const ms = await delay(trigger);
      t.ok(ms < 500, `${trigger} swapped after ${ms.toFixed(0)} ms`);
      await page.waitForTimeout(100);
    }
    t.equal(await swapCount(page), before + 3, "one swap per request");
    await page.waitForTimeout(700);
    t.equal(await swapCount(page), before + 3, "still paused afterwards");
  },
);

t.test("never shows the same id twice in a row", async (t) => {
  const { page } = await open(t, `${site.url}index.html?interval=0.05`);
  await waitForSwaps(page, 51, 20_000);
  const ids = (await swapsOf(page)).map((swap) => swap.id);
  const repeats = ids.filter((id, i) => i > 0 && id === ids[i - 1]);
  t.same(repeats, [], ids.join(" "));
  t.ok(new Set(ids).size >= 8, `${new Set(ids).size} distinct ids`);
});

t.test("missing and corrupt files are skipped, never shown", async (t) => {
  const damaged = await servedSite(
    12,
    async (site) => {
      await unlink(path.join(site, "example-3.jpg"));
      await unlink(path.join(site, "snippet-5.txt"));
      const header = Buffer.from([0xff, 0xd8, 0xff, 0xe0]);
      await writeFile(
        path.join(site, "example-7.jpg"),
        Buffer.concat([header, randomBytes(3000)]),
      );
      await writeFile(path.join(site, "example-8.jpg"), "");
    },
    [[0, 11]],
  );
  const { page, warnings } = await open(
    t,
    `${damaged.url}index.html?interval=0.05`,
  );
  await waitForSwaps(page, 40, 20_000);
  const swaps = await swapsOf(page);
  const shown = new Set(swaps.map((swap) => swap.id));
  for (const bad of [3, 5, 7, 8])
    t.notOk(shown.has(bad), `id ${bad} never shown`);
  for (const swap of swaps) t.equal(idFromRed(swap.red), swap.id);
  const inserted = await insertedOf(page);
  t.ok(
    inserted.every((image) => image.complete && image.naturalWidth > 0),
    "no broken image",
  );
  t.ok(
    warnings.some((text) => /skipping id (3|5|7|8)/.test(text)),
    "bad ids were tried and skipped",
  );
});

t.test(
  "when nothing loads, a polite message after bounded attempts",
  async (t) => {
    const empty = await servedSite(0, async () => {}, [[0, 2]]);
    const { page, requests } = await open(
      t,
      `${empty.url}index.html?interval=100`,
    );
    await page.waitForFunction(
      () => document.getElementById("status")!.textContent !== "",
    );
    t.match(await page.textContent("#status"), /no waifu could be loaded/i);
    t.equal(await page.locator("#face img").count(), 0, "no image shown");
    await page.waitForTimeout(500);
    const assets = requests.filter((p) => /\/(example|snippet)-/.test(p));
    t.ok(
      assets.length > 0 && assets.length <= 12,
      `${assets.length} requests, then it waits`,
    );
  },
);

t.test("snippets are shown as text and run nothing", async (t) => {
  const hostile = await servedSite(2, async (site) => {
    await writeFile(
      path.join(site, "snippet-0.txt"),
      `_<b>Bold</b> Title_: <img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> Snippet 0.`,
    );
    await writeFile(
      path.join(site, "snippet-1.txt"),
      `<img src=x onerror="window.__pwned=3"><iframe src="javascript:window.__pwned=4"></iframe> Snippet 1.`,
    );
  });
  const { page, requests, errors } = await open(
    t,
    `${hostile.url}index.html?interval=0.2`,
  );
  await waitForSwaps(page, 4);
  const swaps = await swapsOf(page);
  t.same(new Set(swaps.map((swap) => swap.id)), new Set([0, 1]), "both shown");
  for (const swap of swaps)
    t.match(swap.text, /<img src=x onerror="window.__pwned=\d">/);
  t.equal(
    await page.evaluate(() => (window as any).__pwned),
    0,
    "no payload ran",
  );
  const tags = await page.evaluate(() =>
    [...document.querySelectorAll("#snippet *")].map((node) => node.tagName),
  );
  t.ok(
    tags.every((tag) => tag === "EM"),
    `only <em> inside: ${tags}`,
  );
  t.notOk(requests.includes("/x"), "the payload's image was never requested");
  t.same(errors, []);
  await page.waitForFunction(
    () => document.getElementById("snippet")!.dataset.id === "0",
  );
  t.equal(
    await page.textContent("#snippet em"),
    "<b>Bold</b> Title",
    "title as text",
  );
});

t.test("fits phones to 4K screens without sideways scrolling", async (t) => {
  const sizes = [
    [320, 640],
    [1280, 800],
    [3840, 2160],
  ];
  for (const [width, height] of sizes) {
    const { page } = await open(t, `${site.url}index.html?interval=100`, {
      viewport: { width, height },
    });
    await waitForSwaps(page, 1);
    const box = await page.evaluate(() => {
      const image = document
        .querySelector("#face img")!
        .getBoundingClientRect();
      const text = document.getElementById("snippet")!.getBoundingClientRect();
      const root = document.documentElement;
      return {
        image: image.toJSON(),
        text: text.toJSON(),
        scrollWidth: root.scrollWidth,
        clientWidth: root.clientWidth,
      };
    });
    const name = `${width}x${height}`;
    t.ok(box.scrollWidth <= box.clientWidth, `${name}: no horizontal overflow`);
    t.ok(
      box.image.left >= 0 && box.image.right <= width,
      `${name}: image within width`,
    );
    t.ok(
      box.image.top >= 0 && box.image.bottom <= height,
      `${name}: image within height`,
    );
    t.ok(
      box.image.width >= Math.min(width, height) * 0.6,
      `${name}: image is large`,
    );
    if (width > height)
      t.ok(box.text.left >= box.image.right, `${name}: text beside`);
    else t.ok(box.text.top >= box.image.bottom, `${name}: text below`);
    await page.screenshot({
      path: path.join(SHOTS, `index-${name}.png`),
      animations: "disabled",
    });
  }
});

t.test("fades only when motion is welcome", async (t) => {
  const moving = await open(t, `${site.url}index.html?interval=100`);
  const calm = await open(t, `${site.url}index.html?interval=100`, {
    reducedMotion: "reduce",
  });
  for (const { page } of [moving, calm]) await waitForSwaps(page, 1);
  const running = (page: Page) =>
    page.evaluate(() => {
      document.getElementById("refresh")!.click();
      return new Promise<number>((resolve) =>
        document.addEventListener(
          "twdne:swap",
          () => resolve(document.getAnimations().length),
          { once: true },
        ),
      );
    });
  t.ok((await running(moving.page)) > 0, "a fade by default");
  t.equal(await running(calm.page), 0, "no fade with prefers-reduced-motion");
});

t.test("a bad ?interval falls back to 15 seconds with a warning", async (t) => {
  for (const value of ["abc", "0", "-1", ""]) {
    // Module scripts have run by the load event that open() waits for.
    const { page, warnings } = await open(
      t,
      `${site.url}index.html?interval=${value}`,
    );
    const warning = `?interval: expected seconds from 0.01 to 86400, received ${value}`;
    t.ok(warnings.includes(warning), `warned about "${value}"`);
    if (value !== "abc") continue;
    await waitForSwaps(page, 1);
    await page.waitForTimeout(1200);
    t.equal(await swapCount(page), 1, "no early swap");
  }
});
