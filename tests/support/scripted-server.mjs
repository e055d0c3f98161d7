// A scripted HTTP endpoint for the shell's browser tests (wasm-pack test).
//
// Tests talk to it cross-origin at http://127.0.0.1:$PORT (default 8790):
//   POST /__script/<key>   body {responses: [Reply…], fallback?: Reply}  sets what /s/<key>/… answers
//   GET  /__requests/<key> every request /s/<key>/… received, in order (JSON array)
//   ANY  /s/<key>/…        answered by the next scripted Reply, else `fallback`, else 200 {}
// Reply = {status?, body?, headers?, delay_ms?, drop?}; `drop` destroys the socket (a network error).
// Recorded request = {method, path, headers, bytes, gzip, body} with gzip bodies inflated.
import http from "node:http";
import zlib from "node:zlib";

const port = Number(process.env.PORT || 8790);
const scripts = new Map(); // key -> {responses, fallback}
const requests = new Map(); // key -> [recorded]

const cors = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS",
  "access-control-allow-headers": "*",
  "access-control-expose-headers": "retry-after",
  "access-control-max-age": "600",
};

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { ...cors, "content-type": "application/json", ...headers });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  const parts = url.pathname.split("/").filter(Boolean);
  if (req.method === "OPTIONS") return send(res, 204, "");
  const raw = await readBody(req);
  if (parts[0] === "__script" && req.method === "POST") {
    const spec = JSON.parse(raw.toString("utf8") || "{}");
    scripts.set(parts[1], { responses: spec.responses || [], fallback: spec.fallback });
    requests.set(parts[1], []);
    return send(res, 200, { ok: true });
  }
  if (parts[0] === "__requests") return send(res, 200, requests.get(parts[1]) || []);
  if (parts[0] !== "s" || !parts[1]) return send(res, 404, { error: "unknown path" });

  const key = parts[1];
  const gzip = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;
  let body = "";
  try {
    body = (gzip ? zlib.gunzipSync(raw) : raw).toString("utf8");
  } catch (e) {
    body = `<undecodable: ${e.message}>`;
  }
  if (!requests.has(key)) requests.set(key, []);
  requests.get(key).push({ method: req.method, path: url.pathname, headers: req.headers, bytes: raw.length, gzip, body });

  const script = scripts.get(key) || { responses: [] };
  const reply = script.responses.shift() || script.fallback || { status: 200, body: "{}" };
  if (reply.delay_ms) await new Promise((r) => setTimeout(r, reply.delay_ms));
  if (reply.drop) return req.socket.destroy();
  send(res, reply.status || 200, reply.body ?? "{}", reply.headers || {});
});

server.listen(port, "127.0.0.1", () => console.log(`scripted server on http://127.0.0.1:${port}`));
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => server.close(() => process.exit(0)));
