/**
 * What an attacker or a careless client can send to the real server: prompts with broken UTF-16, socket
 * upgrades from a rebound DNS name, and WebSocket messages over the size limit.
 */
import { deepStrictEqual, equal, ok, rejects } from "@std/assert";
import { startServer } from "../_server.ts";
import { json, openSocket, postGenerate } from "../_client.ts";

/** Sends a WebSocket upgrade request by hand (fetch cannot set Host) and returns the status line. */
async function upgradeStatus(port: number, headers: Record<string, string>): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const lines = Object.entries({
      Upgrade: "websocket",
      Connection: "Upgrade",
      "Sec-WebSocket-Key": key,
      "Sec-WebSocket-Version": "13",
      ...headers,
    }).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    await conn.write(new TextEncoder().encode(`GET /ws HTTP/1.1\r\n${lines}\r\n`));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    return new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0];
  } finally {
    conn.close();
  }
}

Deno.test({
  name: "the real server against hostile input",
  async fn(t) {
    await using server = await startServer({ env: { BACKEND: "wasm", CORS_ORIGINS: "*" } });
    const port = Number(new URL(server.url).port);

    await t.step("a prompt with a lone surrogate gives 200 over HTTP and done over WS", async () => {
      const res = await postGenerate(server.url, JSON.stringify({ prompt: "seven \ud800", steps: 1 }));
      equal(res.status, 200, await res.clone().text());
      await res.body?.cancel();
      const words = res.headers.get("x-unknown-words") ?? "";
      ok(decodeURIComponent(words).includes("\ufffd"), `the broken word is reported as unknown: ${words}`);
      await using ws = await openSocket(server.wsUrl);
      ws.send({ type: "generate", id: "s", prompt: "seven \ud800", steps: 1, previews: false });
      const done = json((await ws.job("s")).at(-1));
      equal(done.type, "done", JSON.stringify(done));
    });

    await t.step(
      "a socket from a rebound DNS name is refused even though Host matches its Origin",
      async () => {
        const evil = `evil.example:${port}`;
        equal(await upgradeStatus(port, { Host: evil, Origin: `http://${evil}` }), "HTTP/1.1 403 Forbidden");
        equal(
          await upgradeStatus(port, { Host: `127.0.0.1:${port}`, Origin: `http://127.0.0.1:${port}` }),
          "HTTP/1.1 101 Switching Protocols",
        );
        equal(
          await upgradeStatus(port, { Host: `localhost:${port}`, Origin: `http://localhost:${port}` }),
          "HTTP/1.1 101 Switching Protocols",
        );
      },
    );

    await t.step("a WS message over the limit gets too_large and the socket closes with 1009", async () => {
      const ws = await openSocket(server.wsUrl);
      ws.send(JSON.stringify({ type: "generate", id: "big", prompt: "x".repeat(20_000) }));
      const error = json(await ws.read());
      deepStrictEqual([error.type, error.code], ["error", "too_large"]);
      // A socket left open makes this read time out instead of reporting the close.
      await rejects(ws.read(10_000), /The socket closed/);
      equal((await ws.closed).code, 1009);
      await using again = await openSocket(server.wsUrl);
      again.send({ type: "generate", id: "after", prompt: "a one", steps: 1, previews: false });
      equal(json((await again.job("after")).at(-1)).type, "done", "the server still serves");
    });
  },
});
