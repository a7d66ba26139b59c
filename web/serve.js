#!/usr/bin/env node
/**
 * Serves the built browser lab (web/dist, or --dir) on 127.0.0.1 only — never on other interfaces — and prints the
 * URL. Plain static files with their MIME types (application/wasm for the binaries); nothing is fetched from
 * elsewhere. Port: --port N (default 8033; 0 = any free port). Usage: node web/serve.js [--dir DIR] [--port N]
 */
const fs = require("fs");
const http = require("http");
const path = require("path");

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".json": "application/json", ".wasm": "application/wasm", ".png": "image/png", ".bin": "application/octet-stream",
  ".ckpt": "application/octet-stream",
};

/** Starts the server; resolves with { server, url }. */
function serve(dir, port = 8033) {
  const root = path.resolve(dir);
  if (!fs.existsSync(path.join(root, "index.html"))) throw new Error(`${root} has no index.html: run npm run build:web first`);
  const server = http.createServer((req, res) => {
    let rel;
    try {
      rel = decodeURIComponent(new URL(req.url, "http://127.0.0.1").pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const file = path.join(root, rel.endsWith("/") ? rel + "index.html" : rel);
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    res.writeHead(200, {
      "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
      "content-length": fs.statSync(file).size,
      "cache-control": "no-cache",
    });
    if (req.method === "HEAD") res.end();
    else fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${server.address().port}/` }));
  });
}

module.exports = { serve };

if (require.main === module) {
  const args = process.argv.slice(2);
  let dir = path.join(__dirname, "dist"), port = 8033;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--dir" && args[i + 1]) dir = args[++i];
    else if (args[i] === "--port" && args[i + 1] && /^\d+$/.test(args[i + 1])) port = Number(args[++i]);
    else { console.error(`web/serve.js: unknown argument '${args[i]}' (expected --dir DIR, --port N)`); process.exit(2); }
  }
  serve(dir, port).then(({ url }) => {
    console.log(`∞-Diff browser lab: ${url}   (serving ${path.relative(process.cwd(), dir) || "."} on 127.0.0.1 only; Ctrl-C stops)`);
  }, (e) => {
    console.error(`web/serve.js: ${e.code === "EADDRINUSE" ? `port ${port} is taken: pass --port N (0 = any free port)` : e.message}`);
    process.exit(1);
  });
}
