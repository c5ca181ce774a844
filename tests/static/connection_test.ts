import { deepStrictEqual, equal, ok } from "@std/assert";
import { backoffDelay, Connection, socketUrl } from "../../static/connection.js";
import { encodeFrame } from "../../routes/protocol.ts";

Deno.test("backoffDelay() doubles from the minimum up to the maximum, with at most 25% jitter off", () => {
  const at = (attempt: number, r: number) =>
    backoffDelay(attempt, { minMs: 500, maxMs: 8000, random: () => r });
  deepStrictEqual([0, 1, 2, 3, 4, 9].map((a) => at(a, 1)), [500, 1000, 2000, 4000, 8000, 8000]);
  equal(at(0, 0), 375);
});

Deno.test("socketUrl() puts /ws beside the page and carries the page's token", () => {
  equal(socketUrl("http://127.0.0.1:8000/"), "ws://127.0.0.1:8000/ws");
  equal(
    socketUrl("https://example.test/app/index.html?token=a%20b#x"),
    "wss://example.test/app/ws?token=a%20b",
  );
  equal(socketUrl("http://h/?other=1"), "ws://h/ws");
});

Deno.test("Connection splits events from frames, queues messages while closed and reconnects", async () => {
  const received: string[] = [];
  let sockets = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    sockets += 1;
    const n = sockets;
    socket.onmessage = (e) => {
      received.push(`${n}:${e.data}`);
      socket.send(JSON.stringify({ type: "queued", id: "j", position: n }));
      socket.send(
        encodeFrame({
          kind: "preview",
          step: 1,
          steps: 2,
          format: "png",
          id: "j",
          image: new Uint8Array([1]),
        }),
      );
      if (n === 1) socket.close();
    };
    return response;
  });
  const connection = new Connection(`ws://127.0.0.1:${server.addr.port}/ws`, { minMs: 20, maxMs: 40 });
  const events: unknown[] = [];
  const states: string[] = [];
  connection.addEventListener("message", (e) => events.push((e as CustomEvent).detail));
  connection.addEventListener("frame", (e) => events.push((e as CustomEvent).detail.kind));
  connection.addEventListener("status", (e) => states.push((e as CustomEvent).detail.state));
  try {
    equal(connection.send({ type: "generate", id: "j" }), "queued");
    const deadline = Date.now() + 5000;
    while (connection.state !== "open" || sockets < 1) {
      ok(Date.now() < deadline, "never opened");
      await new Promise((r) => setTimeout(r, 10));
    }
    while (sockets < 2 || connection.state !== "open") {
      ok(Date.now() < deadline, `never reconnected: ${states}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    connection.send({ type: "generate", id: "k" });
    while (received.length < 2 || events.length < 4) {
      ok(Date.now() < deadline, `no answer: ${JSON.stringify(events)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    deepStrictEqual(received, ['1:{"type":"generate","id":"j"}', '2:{"type":"generate","id":"k"}']);
    deepStrictEqual(events, [
      { type: "queued", id: "j", position: 1 },
      "preview",
      { type: "queued", id: "j", position: 2 },
      "preview",
    ]);
    deepStrictEqual(states.slice(0, 4), ["connecting", "open", "closed", "connecting"]);
  } finally {
    connection.close();
    await server.shutdown();
  }
});
