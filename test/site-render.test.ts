import t from "tap";
import {
  mkdtemp,
  readdir,
  readFile,
  rm,
  writeFile,
  mkdir,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { main } from "../pipeline/cli.ts";
import { renderSite } from "../pipeline/site/render-site.ts";
import { writeFileAtomic } from "../pipeline/atomic.ts";
import { makeSiteFolder } from "./helpers/site-fixture.ts";

// Runs the real CLI in this process, keeping what it writes to stdout and stderr.
async function twdne(...argv: string[]) {
  const written = { stdout: "", stderr: "" };
  const original = {
    stdout: process.stdout.write,
    stderr: process.stderr.write,
  };
  process.stdout.write = ((chunk: string) => {
    written.stdout += chunk;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => {
    written.stderr += chunk;
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, ...written };
  } finally {
    process.stdout.write = original.stdout;
    process.stderr.write = original.stderr;
  }
}

// The settings a rendered page carries in its JSON config element.
async function bakedConfig(file: string) {
  const html = await readFile(file, "utf8");
  const match =
    /<script type="application\/json" id="config">(.*?)<\/script>/s.exec(html);
  if (!match) throw new Error(`${file}: no config element`);
  return JSON.parse(match[1]);
}

t.test("finds the ids that have both files and bakes them in", async (t) => {
  const out = await makeSiteFolder(12);
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const site = path.join(out, "site");
  await writeFile(path.join(site, "example-40.jpg"), "face without snippet");
  await writeFile(path.join(site, "snippet-41.txt"), "snippet without face");
  await writeFile(path.join(site, "example-007.jpg"), "padded ids are not ids");
  await writeFile(path.join(site, "snippet-007.txt"), "padded ids are not ids");

  const result = await twdne("site", "--out", out);
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, "", "nothing on stdout");
  t.match(result.stderr, /^site: \d+ files in .* for 12 ids \(0-11\)\n$/);
  for (const page of ["index.html", "grid.html", "scroll.html"]) {
    t.same(await bakedConfig(path.join(site, page)), {
      prefix: "",
      ranges: [[0, 11]],
    });
  }
  const names = await readdir(site);
  t.notOk(
    names.some((name) => name.endsWith(".tmp")),
    "no temporary files left",
  );
  const robots = await readFile(path.join(site, "robots.txt"), "utf8");
  t.match(robots, /Disallow: \/example-\n/);
  t.match(robots, /Disallow: \/snippet-\n/);
});

t.test("--ids and --count override the files found", async (t) => {
  const out = await makeSiteFolder(3);
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const index = path.join(out, "site", "index.html");

  const listed = await twdne(
    "site",
    "--out",
    out,
    "--ids",
    "9,3-5,4-6,100-199",
  );
  t.equal(listed.code, 0, listed.stderr);
  t.same((await bakedConfig(index)).ranges, [
    [3, 6],
    [9, 9],
    [100, 199],
  ]);
  t.match(listed.stderr, /for 105 ids \(3-6, 9, 100-199\)/);

  const counted = await twdne("site", "--out", out, "--count", "100000");
  t.equal(counted.code, 0, counted.stderr);
  t.same((await bakedConfig(index)).ranges, [[0, 99999]]);
});

t.test("--prefix finds and names files under a versioned folder", async (t) => {
  const out = await makeSiteFolder(4, "v2/");
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const result = await twdne("site", "--out", out, "--prefix", "v2");
  t.equal(result.code, 0, result.stderr);
  const site = path.join(out, "site");
  t.same(await bakedConfig(path.join(site, "index.html")), {
    prefix: "v2/",
    ranges: [[0, 3]],
  });
  const robots = await readFile(path.join(site, "robots.txt"), "utf8");
  t.match(robots, /Disallow: \/v2\/example-\n/);
  t.match(result.stderr, /under v2\//);
});

t.test("an empty folder is one clear error", async (t) => {
  const out = await mkdtemp(path.join(tmpdir(), "twdne-empty-"));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  await mkdir(path.join(out, "site"));
  const result = await twdne("site", "--out", out);
  t.equal(result.code, 2);
  t.equal(
    result.stderr,
    `twdne: --out: expected example-<id>.jpg and snippet-<id>.txt pairs in ` +
      `${path.join(out, "site")} (or --count / --ids), received no pairs\n`,
  );
  t.same(await readdir(path.join(out, "site")), [], "nothing written");
});

t.test("bad flags name the flag, the expectation and the value", async (t) => {
  const out = await makeSiteFolder(1);
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const ids =
    "comma-separated ids and ranges from 0 to 4294967295, like 0-99,150";
  const count = "a whole number of ids from 1 to 4294967296";
  const prefix = "a relative folder of letters, digits, . _ - like v2/";
  const cases: [string[], string][] = [
    [["--count", "abc"], `--count: expected ${count}, received abc`],
    [["--count", "0"], `--count: expected ${count}, received 0`],
    [
      ["--count", "4294967297"],
      `--count: expected ${count}, received 4294967297`,
    ],
    [["--ids", "5-3"], `--ids: expected ${ids}, received 5-3 (at "5-3")`],
    [["--ids", "1,,2"], `--ids: expected ${ids}, received 1,,2 (at "")`],
    [["--ids", "1-2-3"], `--ids: expected ${ids}, received 1-2-3 (at "1-2-3")`],
    [["--ids", "x"], `--ids: expected ${ids}, received x (at "x")`],
    [["--prefix", "../v2/"], `--prefix: expected ${prefix}, received ../v2/`],
    [["--prefix", "/v2/"], `--prefix: expected ${prefix}, received /v2/`],
    [
      ["--prefix", "v2/../.."],
      `--prefix: expected ${prefix}, received v2/../..`,
    ],
    [
      ["--count", "3", "--ids", "1"],
      "--ids: expected either --ids or --count, not both, received both",
    ],
  ];
  for (const [flags, message] of cases) {
    const result = await twdne("site", "--out", out, ...flags);
    t.equal(result.code, 2, flags.join(" "));
    t.equal(result.stderr, `twdne: ${message}\n`, flags.join(" "));
  }
  const missing = await twdne("site");
  t.equal(
    missing.stderr,
    "twdne: --out: expected a folder holding site/, received nothing\n",
  );
});

t.test("an atomic write leaves no temporary file when it fails", async (t) => {
  const folder = await mkdtemp(path.join(tmpdir(), "twdne-atomic-"));
  t.teardown(() => rm(folder, { recursive: true, force: true }));
  await writeFileAtomic(path.join(folder, "a.txt"), "one");
  await writeFileAtomic(path.join(folder, "a.txt"), "two");
  t.equal(await readFile(path.join(folder, "a.txt"), "utf8"), "two");
  await mkdir(path.join(folder, "taken"));
  await mkdir(path.join(folder, "taken", "inside"));
  await t.rejects(writeFileAtomic(path.join(folder, "taken"), "three"));
  t.same((await readdir(folder)).sort(), ["a.txt", "taken"]);
});

// Every file index.html pulls in: its stylesheets and scripts, and the modules they import.
async function indexFiles(site: string): Promise<string[]> {
  const html = await readFile(path.join(site, "index.html"), "utf8");
  const linked = [
    ...html.matchAll(/(?:href|src)="([^"]+\.(?:css|js|svg))"/g),
  ].map((m) => m[1]);
  const seen = new Set<string>(["index.html"]);
  const queue = [...linked];
  while (queue.length) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    if (!name.endsWith(".js")) continue;
    const code = await readFile(path.join(site, name), "utf8");
    for (const m of code.matchAll(/from "\.\/([^"]+)"/g)) queue.push(m[1]);
  }
  return [...seen];
}

t.test(
  "index.html with its CSS and JS stays within 10 KB gzipped",
  async (t) => {
    const out = await makeSiteFolder(2);
    t.teardown(() => rm(out, { recursive: true, force: true }));
    const { folder } = await renderSite({
      out,
      prefix: "",
      ranges: [[0, 99999]],
    });
    const files = await indexFiles(folder);
    t.ok(
      files.includes("index.js") && files.includes("config.js"),
      files.join(" "),
    );
    let total = 0;
    for (const name of files) {
      total += gzipSync(await readFile(path.join(folder, name)), {
        level: 9,
      }).length;
    }
    t.comment(`index page: ${files.length} files, ${total} bytes gzipped`);
    t.ok(total <= 10 * 1024, `${total} bytes gzipped`);
  },
);

t.test("only the index page is open to search engines", async (t) => {
  const out = await makeSiteFolder(1);
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const { folder } = await renderSite({ out, prefix: "" });
  const noindex = /<meta name="robots" content="noindex"/;
  t.notMatch(await readFile(path.join(folder, "index.html"), "utf8"), noindex);
  t.match(await readFile(path.join(folder, "grid.html"), "utf8"), noindex);
  t.match(await readFile(path.join(folder, "scroll.html"), "utf8"), noindex);
});
