// A small static file server for previewing a rendered site on this machine.
import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { contentType } from "./content-types.ts";

export interface RunningServer {
  url: string; // e.g. http://127.0.0.1:8080/
  port: number;
  close(): Promise<void>;
}

// Files that should stay out of search results even when the page linking them is indexed.
const NOT_FOR_INDEXING = /^(example-|snippet-|grid\.html$|scroll\.html$)/;

/** Serves `dir` on host:port (port 0 picks a free one) until close() is called. */
export async function start(
  dir: string,
  port = 0,
  host = "127.0.0.1",
): Promise<RunningServer> {
  const root = await realpath(dir);
  const server = createServer((request, response) => {
    answer(root, request, response).catch((error: Error) => {
      if (!response.headersSent) send(response, 500, "Server error\n");
      else response.destroy(error);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${bound}/`,
    port: bound,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function answer(
  root: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  // Only reading is offered.
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.setHeader("Allow", "GET, HEAD");
    return send(response, 405, "Method not allowed\n");
  }
  const file = await resolveFile(root, request.url ?? "/");
  if (typeof file === "number") return send(response, file, statusText(file));

  // Headers, then the body unless this is HEAD.
  const name = path.basename(file.path);
  response.writeHead(200, {
    "Content-Type": contentType(name),
    "Content-Length": file.size,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    ...(NOT_FOR_INDEXING.test(name) ? { "X-Robots-Tag": "noindex" } : {}),
  });
  if (request.method === "HEAD") return void response.end();
  createReadStream(file.path).pipe(response);
}

// The file a URL names inside root, or the status that refuses it.
async function resolveFile(
  root: string,
  url: string,
): Promise<{ path: string; size: number } | number> {
  let pathname: string;
  try {
    pathname = decodeURIComponent(url.split(/[?#]/)[0]);
  } catch {
    return 400;
  }
  if (!pathname.startsWith("/") || /[\0\\]/.test(pathname)) return 400;
  if (pathname.split("/").includes("..")) return 403;
  let candidate = path.join(root, pathname);
  if (pathname.endsWith("/")) candidate = path.join(candidate, "index.html");
  // Links may point anywhere: the real path must still lie inside root.
  const real = await realpath(candidate).catch(() => null);
  if (!real) return 404;
  if (real !== root && !real.startsWith(root + path.sep)) return 403;
  const info = await stat(real);
  if (info.isDirectory())
    return resolveFile(root, `${pathname.replace(/\/?$/, "/")}`);
  return info.isFile() ? { path: real, size: info.size } : 404;
}

function statusText(status: number): string {
  const texts: Record<number, string> = {
    400: "Bad request\n",
    403: "Forbidden\n",
    404: "Not found\n",
  };
  return texts[status] ?? "Error\n";
}

function send(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
  });
  response.end(body);
}
