import { equal, match, ok } from "@std/assert";

const ROOT = new URL("../../", import.meta.url).pathname;

async function generate(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "generate", ...args],
    cwd: ROOT,
    env: { BACKEND: "wasm" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("deno task generate --help prints every option and exits 0", async () => {
  const r = await generate("--help");
  equal(r.code, 0, r.stderr);
  for (
    const option of [
      "--prompt",
      "--negative",
      "--model",
      "--steps",
      "--seed",
      "--guidance",
      "--scale",
      "--eta",
      "--zeta",
      "--layers",
      "--cfg",
      "--apg",
      "--size",
      "--out",
      "--backend",
      "--previews",
      "--help",
    ]
  ) {
    ok(r.stdout.includes(option), `usage lists ${option}`);
  }
});

Deno.test("deno task generate with an unknown option says so in one line and exits 2", async () => {
  const r = await generate("--bogus");
  equal(r.code, 2);
  match(r.stderr, /bogus/);
  equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  ok(!r.stderr.includes("    at "), "no stack trace");
});

Deno.test("deno task generate writes the image and names its seed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await generate(
      "--prompt",
      "a 3",
      "--seed",
      "7",
      "--steps",
      "1",
      "--backend",
      "wasm",
      "--out",
      `${dir}/x.png`,
    );
    equal(r.code, 0, r.stderr);
    match(r.stdout, /seed 7, 1 steps/);
    const png = await Deno.readFile(`${dir}/x.png`);
    equal(Array.from(png.subarray(1, 4), (c) => String.fromCharCode(c)).join(""), "PNG");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
