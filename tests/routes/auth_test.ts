/**
 * Bearer-token auth end to end (AUTH_TOKEN set); the other route tests run with auth off.
 */
import { deepStrictEqual, equal, ok, rejects } from "@std/assert";
import { startServer } from "../_server.ts";
import { label, openSocket, postGenerate, readMetrics } from "../_client.ts";

const TOKEN = "s3cret-test-token";

async function expectUnauthorized(res: Response, message: RegExp) {
  equal(res.status, 401);
  equal(res.headers.get("www-authenticate"), "Bearer");
  const { error } = await res.json();
  equal(error.code, "unauthorized");
  ok(message.test(error.message), error.message);
}

Deno.test({
  name: "with AUTH_TOKEN set",
  async fn(t) {
    await using server = await startServer({ env: { AUTH_TOKEN: TOKEN } });
    const { url } = server;

    await t.step("HTTP without a bearer token or with a wrong one gets 401, with the token 200", async () => {
      await expectUnauthorized(await postGenerate(url, { prompt: "x", steps: 1 }), /no bearer token/);
      await expectUnauthorized(
        await postGenerate(url, { prompt: "x", steps: 1 }, { authorization: `Bearer ${TOKEN}x` }),
        /wrong/,
      );
      await expectUnauthorized(await fetch(`${url}/api/models`), /no bearer token/);
      const res = await postGenerate(url, { prompt: "x", steps: 1 }, { authorization: `Bearer ${TOKEN}` });
      equal(res.status, 200);
      equal(res.headers.get("content-type"), "image/png");
      await res.body?.cancel();
    });

    await t.step("health checks stay open and /metrics needs the token", async () => {
      equal((await fetch(`${url}/healthz`)).status, 200);
      equal((await fetch(`${url}/livez`)).status, 200);
      await expectUnauthorized(await fetch(`${url}/metrics`), /no bearer token/);
      const m = await readMetrics(url, { authorization: `Bearer ${TOKEN}` });
      equal(m.value("gag_jobs_total", { outcome: "done" }), 1);
    });

    await t.step(
      "WS without ?token= or with a wrong one is refused with 401, with the token it works",
      async () => {
        await expectUnauthorized(await fetch(`${url}/ws`), /no bearer token/);
        await expectUnauthorized(await fetch(`${url}/ws?token=nope-nope`), /wrong/);
        await rejects(openSocket(server.wsUrl), /Cannot open a socket/);
        await rejects(openSocket(`${server.wsUrl}?token=${TOKEN}x`), /Cannot open a socket/);
        await using ws = await openSocket(`${server.wsUrl}?token=${encodeURIComponent(TOKEN)}`);
        ws.send({ type: "generate", id: "authed", prompt: "a nine", steps: 2, previews: false });
        const events = (await ws.job("authed")).map(label).filter((l) => l !== "progress");
        deepStrictEqual(events, ["queued", "started", "final", "done"]);
      },
    );
  },
});
