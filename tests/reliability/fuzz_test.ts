/**
 * Fuzzing the front door: thousands of seeded bad HTTP bodies and WS messages, each answered with its
 * documented error; afterwards the server still generates the same bytes for a valid request as before,
 * no job is left and no job ever reached the engine. Set FUZZ_SEED to replay another sequence.
 */
import { deepStrictEqual, equal, ok } from "@std/assert";
import { startServer } from "../_server.ts";
import {
  frame,
  label,
  openSocket,
  postGenerate,
  readMetrics,
  type TestSocket,
  waitForMetrics,
} from "../_client.ts";
import { type BadCase, badHttpBodies, badWsMessages, type FuzzLimits } from "./_fuzz_cases.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20_261_125);
const HTTP_CASES = 6_000;
const WS_CASES = 6_000;
const HTTP_PARALLEL = 24;
const WS_SOCKETS = 6;
const LIMITS: FuzzLimits = { maxBodyBytes: 16_384, maxWsMessageBytes: 16_384, maxPromptChars: 500 };
const VALID = { prompt: "a seven", steps: 3, seed: 77, guidance: { mode: "gag" }, format: "png" } as const;

/** Why a case's answer is wrong, or null when it is right. */
function mismatch(
  c: BadCase,
  got: { status?: number; code?: string; field?: string; id?: unknown },
): string | null {
  const problems: string[] = [];
  if (got.status !== undefined && got.status !== c.status) problems.push(`status ${got.status}`);
  if (got.code !== c.code) problems.push(`code ${got.code}`);
  if (c.field && !(got.field === c.field || got.field?.startsWith(`${c.field}.`))) {
    problems.push(`field ${got.field}`);
  }
  if (c.id !== undefined && got.id !== c.id) problems.push(`id ${JSON.stringify(got.id)}`);
  return problems.length
    ? `${c.what}: expected ${c.status} ${c.code} ${c.field ?? ""}, got ${problems}`
    : null;
}

/** Sends the cases over one socket in chunks, reading one error per message, in order. */
async function fuzzSocket(ws: TestSocket, cases: BadCase[], chunk: number): Promise<string[]> {
  const failures: string[] = [];
  for (let i = 0; i < cases.length; i += chunk) {
    const batch = cases.slice(i, i + chunk);
    for (const c of batch) ws.send(c.body);
    for (const c of batch) {
      const r = await ws.read(20_000);
      if (r.kind !== "json" || r.json.type !== "error") {
        failures.push(`${c.what}: expected an error event, got ${label(r)}`);
        continue;
      }
      ok(typeof r.json.message === "string" && r.json.message.length > 0);
      const problem = mismatch(c, r.json);
      if (problem) failures.push(problem);
    }
  }
  return failures;
}

Deno.test({
  name: `fuzzing HTTP bodies and WS messages (FUZZ_SEED=${SEED})`,
  async fn(t) {
    await using server = await startServer({
      env: { CONCURRENCY: "1", QUEUE_SIZE: "2", MAX_JOBS_PER_SOCKET: "4", LOG_LEVEL: "warn" },
    });
    const { url } = server;
    const reference = await postGenerate(url, VALID);
    equal(reference.status, 200);
    const referenceBytes = new Uint8Array(await reference.arrayBuffer());
    const before = await readMetrics(url);

    await t.step(`${HTTP_CASES} bad HTTP bodies each get their documented status and error`, async () => {
      const cases = badHttpBodies(HTTP_CASES, SEED, LIMITS);
      const failures: string[] = [];
      const counts: Record<number, number> = {};
      for (let i = 0; i < cases.length; i += HTTP_PARALLEL) {
        await Promise.all(
          cases.slice(i, i + HTTP_PARALLEL).map(async (c) => {
            const res = await postGenerate(url, c.body);
            counts[res.status] = (counts[res.status] ?? 0) + 1;
            const text = await res.text();
            let error: { code?: string; field?: string; message?: string } = {};
            try {
              error = JSON.parse(text).error ?? {};
            } catch {
              failures.push(`${c.what}: the answer is not JSON: ${text.slice(0, 80)}`);
              return;
            }
            if (!error.message) failures.push(`${c.what}: the error has no message`);
            const problem = mismatch(c, { status: res.status, ...error });
            if (problem) failures.push(problem);
          }),
        );
      }
      deepStrictEqual(failures.slice(0, 20), [], `${failures.length} of ${cases.length} answers were wrong`);
      ok(counts[400] > 0 && counts[404] > 0 && counts[413] > 0, `statuses: ${JSON.stringify(counts)}`);
    });

    await t.step(
      `${WS_CASES} bad WS messages over ${WS_SOCKETS} sockets each get their error event`,
      async () => {
        const cases = badWsMessages(WS_CASES, SEED + 1, LIMITS);
        const sockets = await Promise.all(Array.from({ length: WS_SOCKETS }, () => openSocket(server.wsUrl)));
        const shares = sockets.map((_, s) => cases.filter((_, i) => i % WS_SOCKETS === s));
        // One socket floods: it sends its whole share before reading anything.
        const failures = (await Promise.all(
          sockets.map((ws, s) => fuzzSocket(ws, shares[s], s === 0 ? shares[s].length : 50)),
        )).flat();
        deepStrictEqual(
          failures.slice(0, 20),
          [],
          `${failures.length} of ${cases.length} answers were wrong`,
        );
        for (const ws of sockets) {
          equal(ws.ws.readyState, WebSocket.OPEN, "bad messages never close the socket");
        }
        await Promise.all(sockets.map((ws) => ws.close()));
      },
    );

    await t.step("a flood of 1,000 cancels of unknown ids is answered one not_found each", async () => {
      await using ws = await openSocket(server.wsUrl);
      for (let i = 0; i < 1_000; i++) ws.send({ type: "cancel", id: `ghost-${i}` });
      for (let i = 0; i < 1_000; i++) {
        const r = await ws.read();
        ok(r.kind === "json" && r.json.code === "not_found" && r.json.id === `ghost-${i}`, `reply ${i}`);
      }
    });

    await t.step(
      "text frames with invalid UTF-8 end their connection and leave the server serving",
      async () => {
        const port = Number(new URL(url).port);
        const endings = await Promise.all(
          [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0x7b, 0x80, 0x7d], [0xf8, 0x88, 0x80, 0x80]].map((b) =>
            sendRawTextFrame(port, new Uint8Array(b))
          ),
        );
        equal(endings.length, 5, "the server ended every connection");
        await waitForMetrics(url, (m) => m.value("gag_websocket_connections") === 0);
      },
    );

    await t.step(
      "a flood of valid generates on one socket: accepted jobs finish, the rest get busy",
      async () => {
        await using ws = await openSocket(server.wsUrl);
        const ids = Array.from({ length: 12 }, (_, i) => `flood-${i}`);
        for (const id of ids) ws.send({ type: "generate", id, prompt: "a two", steps: 1, previews: false });
        const ends = await Promise.all(ids.map(async (id) => (await ws.job(id)).at(-1)!));
        const done = ends.filter((r) => label(r) === "done").length;
        const busy = ends.filter((r) => r.kind === "json" && r.json.code === "busy").length;
        equal(done + busy, ids.length, ends.map(label).join(" "));
        ok(done >= 3, `1 running + 2 waiting jobs are accepted: ${done}`);
        ok(busy >= 1, `the rest are refused: ${busy}`);
        for (const id of ids) {
          const events = ws.received.filter((r) => r.kind === "frame" && r.frame.id === id);
          const accepted = ends[ids.indexOf(id)];
          equal(
            events.length,
            label(accepted) === "done" ? 1 : 0,
            `${id}: one final frame for a finished job`,
          );
        }
      },
    );

    await t.step(
      "afterwards a valid generate gives the same bytes as before and no job is left",
      async () => {
        const res = await postGenerate(url, VALID);
        equal(res.status, 200);
        deepStrictEqual(new Uint8Array(await res.arrayBuffer()), referenceBytes);
        await using ws = await openSocket(server.wsUrl);
        ws.send({ type: "generate", id: "after", ...VALID });
        const events = await ws.job("after");
        const final = frame(events.at(-2));
        equal(final.kind, "final", events.map(label).join(" "));
        deepStrictEqual(final.image, referenceBytes);
        const m = await waitForMetrics(
          url,
          (m) => m.value("gag_queue_depth") === 0 && m.value("gag_jobs_running") === 0,
        );
        const delta = (outcome: string) =>
          m.value("gag_jobs_total", { outcome }) - before.value("gag_jobs_total", { outcome });
        // Only the flood's accepted jobs and the two checks above ran: no bad input reached the engine.
        const floodDone = delta("done") - 2;
        ok(floodDone >= 3 && floodDone <= 12, `jobs done besides the checks: ${floodDone}`);
        equal(delta("error"), 0, "no input caused an internal error");
        equal(delta("cancelled"), 0);
        ok(!/ error /.test(server.output()), `the server logged no error:\n${server.output()}`);
      },
    );
  },
});

/**
 * Opens a socket by hand (a WebSocket client cannot send invalid UTF-8 text) and sends one masked text
 * frame; resolves when the server ends the connection.
 */
async function sendRawTextFrame(port: number, payload: Uint8Array): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await conn.write(new TextEncoder().encode(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    const head = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    if (!head.startsWith("HTTP/1.1 101")) throw new Error(`The upgrade failed: ${head.split("\r\n")[0]}`);
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const bytes = new Uint8Array([
      0x81,
      0x80 | payload.length,
      ...mask,
      ...payload.map((b, i) => b ^ mask[i % 4]),
    ]);
    await conn.write(bytes);
    // Read until the server ends the stream; a connection still open after 60 s is stuck and fails the test.
    let stuck = false;
    const timer = setTimeout(() => (stuck = true, conn.close()), 60_000);
    try {
      while ((await conn.read(buf)) !== null);
    } catch (e) {
      if (!stuck) throw e;
    } finally {
      clearTimeout(timer);
    }
    if (stuck) throw new Error("The server kept a connection open after invalid UTF-8");
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}
