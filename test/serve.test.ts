import t from "tap";
import { request } from "node:http";
import { spawn } from "node:child_process";
import { mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { start } from "../pipeline/serve/static-server.ts";
import { renderSite } from "../pipeline/site/render-site.ts";
import { makeSiteFolder } from "./helpers/site-fixture.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

// A raw request, so the path reaches the server exactly as written (fetch would tidy it).
function raw(url: string, pathname: string, method = "GET") {
  return new Promise<{
    status: number;
    headers: Record<string, unknown>;
    body: string;
  }>((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const req = request({ hostname, port, path: pathname, method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () =>
        resolve({ status: res.statusCode!, headers: res.headers, body }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

const out = await makeSiteFolder(2);
const site = path.join(out, "site");
await renderSite({ out, prefix: "" });
await writeFile(path.join(out, "secret.txt"), "outside the site");
await writeFile(path.join(site, "snippet-1.txt"), "Ami — 亜美 says héllo");
for (const name of ["a.webp", "a.avif", "a.png", "data.json"]) {
  await writeFile(path.join(site, name), name === "data.json" ? "{}" : "bytes");
}
await writeFile(
  path.join(site, "a.svg"),
  "<svg xmlns='http://www.w3.org/2000/svg'/>",
);
await mkdir(path.join(site, "v2"));
await symlink(path.join(out, "secret.txt"), path.join(site, "link.txt"));
const server = await start(site, 0);
t.teardown(async () => {
  await server.close();
  await rm(out, { recursive: true, force: true });
});

t.test("sends each kind of file with its content type", async (t) => {
  const types: [string, string][] = [
    ["/index.html", "text/html; charset=utf-8"],
    ["/index.css", "text/css; charset=utf-8"],
    ["/index.js", "text/javascript; charset=utf-8"],
    ["/data.json", "application/json; charset=utf-8"],
    ["/robots.txt", "text/plain; charset=utf-8"],
    ["/example-0.jpg", "image/jpeg"],
    ["/a.webp", "image/webp"],
    ["/a.avif", "image/avif"],
    ["/a.png", "image/png"],
    ["/a.svg", "image/svg+xml"],
  ];
  for (const [pathname, type] of types) {
    const response = await fetch(new URL(pathname, server.url));
    t.equal(response.status, 200, pathname);
    t.equal(response.headers.get("content-type"), type, pathname);
  }
  const snippet = await fetch(new URL("/snippet-1.txt", server.url));
  t.equal(await snippet.text(), "Ami — 亜美 says héllo", "utf-8 text intact");
  t.equal(snippet.headers.get("x-robots-tag"), "noindex");
  const index = await fetch(new URL("/index.html", server.url));
  t.equal(
    index.headers.get("x-robots-tag"),
    null,
    "the index page may be indexed",
  );
});

t.test("serves index.html for / and 404 for what is missing", async (t) => {
  const home = await fetch(server.url);
  t.equal(home.status, 200);
  t.match(await home.text(), /<title>This Waifu Does Not Exist<\/title>/);
  t.equal((await fetch(new URL("/example-9.jpg", server.url))).status, 404);
  t.equal(
    (await fetch(new URL("/v2/", server.url))).status,
    404,
    "folder without index",
  );
  const post = await fetch(server.url, { method: "POST", body: "x" });
  t.equal(post.status, 405);
  t.equal(post.headers.get("allow"), "GET, HEAD");
});

t.test("refuses every way out of the site folder", async (t) => {
  const attempts = [
    "/../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/..%2fsecret.txt",
    "/%2e%2e%2fsecret.txt",
    "/v2/../../secret.txt",
    "/..\\secret.txt",
    "/%00index.html",
    "/%zz",
    "/link.txt",
  ];
  for (const attempt of attempts) {
    const response = await raw(server.url, attempt);
    t.ok(
      [400, 403, 404].includes(response.status),
      `${attempt}: ${response.status}`,
    );
    t.notMatch(response.body, /outside the site/, attempt);
  }
  t.equal((await raw(server.url, "/../secret.txt")).status, 403);
  t.equal((await raw(server.url, "/%2e%2e/secret.txt")).status, 403);
  t.equal(
    (await raw(server.url, "/link.txt")).status,
    403,
    "a link leading out",
  );
});

t.test("answers HEAD with the headers of GET and no body", async (t) => {
  const get = await raw(server.url, "/example-0.jpg");
  const head = await raw(server.url, "/example-0.jpg", "HEAD");
  t.equal(head.status, 200);
  t.equal(head.body, "");
  t.equal(head.headers["content-type"], "image/jpeg");
  t.equal(head.headers["content-length"], get.headers["content-length"]);
  t.ok(Number(head.headers["content-length"]) > 100);
  t.equal((await raw(server.url, "/nothing.txt", "HEAD")).status, 404);
});

t.test("twdne serve prints its URL and stops on Ctrl-C", async (t) => {
  const child = spawn(
    process.execPath,
    ["pipeline/bin/twdne.js", "serve", "--out", out, "--port", "0"],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (stdout.includes("\n")) resolve(stdout.trim());
    });
    child.on("exit", () => reject(new Error(`exited early: ${stderr}`)));
  });
  t.match(url, /^http:\/\/127\.0\.0\.1:[1-9][0-9]*\/$/, "the real port");
  t.equal((await fetch(url)).status, 200);
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", resolve),
  );
  child.kill("SIGINT");
  t.equal(await exited, 0, stderr);
  t.equal(stdout, `${url}\n`, "only the URL on stdout");
});

t.test("twdne serve names a bad --port or --out", async (t) => {
  const run = (...args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        ["pipeline/bin/twdne.js", "serve", ...args],
        {
          cwd: ROOT,
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      child.on("exit", (code) => resolve({ code, stderr }));
    });
  const port = await run("--out", out, "--port", "70000");
  t.equal(port.code, 2);
  t.equal(
    port.stderr,
    "twdne: --port: expected a whole number from 0 to 65535 (0 picks a free port), received 70000\n",
  );
  const empty = await mkdtemp(path.join(tmpdir(), "twdne-serve-"));
  t.teardown(() => rm(empty, { recursive: true, force: true }));
  const folder = await run("--out", empty, "--port", "0");
  t.equal(
    folder.stderr,
    `twdne: --out: expected a folder holding a rendered site/ (see twdne site), received ${empty} (no site/ folder)\n`,
  );
});
