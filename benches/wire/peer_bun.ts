// The Bun peer of ori's wire benchmarks: Bun.serve with Bun's native WebSocket
// pub/sub, speaking the benchmark messages of PROTOCOL.md (bench.echo,
// bench.publish, subscribe, ping) in JSON. PORT; DEFLATE=1 turns on
// perMessageDeflate; TLS_CERT and TLS_KEY (PEM files) serve wss://.
import type { ServerWebSocket } from "bun";

type Envelope = { type: string; data?: any; correlationId?: string };
type Ws = ServerWebSocket<{}>;

const port = Number(process.env.PORT ?? 8080);
// Bun compresses a send or publish only when asked (its third argument), even
// with perMessageDeflate negotiated: ask, as ori compresses whatever it may.
const compress = process.env.DEFLATE === "1";
const tls = process.env.TLS_CERT && process.env.TLS_KEY
  ? { cert: Bun.file(process.env.TLS_CERT), key: Bun.file(process.env.TLS_KEY) }
  : undefined;

function reply(ws: Ws, type: string, data: unknown, correlationId?: string) {
  ws.send(JSON.stringify(correlationId === undefined ? { type, data } : { type, data, correlationId }), compress);
}

Bun.serve({
  port,
  hostname: "127.0.0.1",
  tls,
  fetch(req, server) {
    if (server.upgrade(req, { data: {} })) return undefined;
    return new Response("Upgrade required", { status: 426 });
  },
  websocket: {
    perMessageDeflate: process.env.DEFLATE === "1",
    message(ws: Ws, raw) {
      let msg: Envelope;
      try {
        msg = JSON.parse(typeof raw === "string" ? raw : raw.toString());
      } catch {
        return reply(ws, "error", null);
      }
      switch (msg.type) {
        case "bench.echo":
          return reply(ws, "bench.echo", msg.data, msg.correlationId);
        case "ping":
          return reply(ws, "pong", null, msg.correlationId);
        case "subscribe":
          ws.subscribe(msg.data.topic);
          return reply(ws, "subscribe", { topic: msg.data.topic }, msg.correlationId);
        case "bench.publish":
          ws.publish(msg.data.topic, JSON.stringify({ type: "bench.message", data: msg.data.payload }), compress);
          if (msg.correlationId !== undefined) reply(ws, "bench.publish", null, msg.correlationId);
          return;
      }
    },
  },
});
console.log(`bun peer on ${tls ? "wss" : "ws"}://127.0.0.1:${port}`);
