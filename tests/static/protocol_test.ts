import { deepStrictEqual, equal, throws } from "@std/assert";
import * as server from "../../routes/protocol.ts";
import * as client from "../../static/protocol.js";

Deno.test("static/protocol.js holds the same frame constants as routes/protocol.ts", () => {
  equal(client.FRAME_VERSION, server.FRAME_VERSION);
  equal(client.FRAME_HEADER_BYTES, server.FRAME_HEADER_BYTES);
  equal(client.MAX_ID_BYTES, server.MAX_ID_BYTES);
  deepStrictEqual({ ...client.FRAME_KIND }, { ...server.FRAME_KIND });
  deepStrictEqual({ ...client.FRAME_FORMAT }, { ...server.FRAME_FORMAT });
  deepStrictEqual({ ...client.MIME }, { ...server.MIME });
});

Deno.test("the client's decodeFrame() reads a preview frame made by the server's encodeFrame()", () => {
  const image = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 1, 2, 3]);
  const frame = { kind: "preview", step: 3, steps: 300, format: "png", id: "job-ä-1", image } as const;
  const bytes = server.encodeFrame(frame);
  deepStrictEqual(client.decodeFrame(bytes), server.decodeFrame(bytes));
  const decoded = client.decodeFrame(bytes.slice().buffer);
  deepStrictEqual({ ...decoded, image: [...decoded.image] }, { ...frame, image: [...image] });
});

Deno.test("the client's decodeFrame() reads a final JPEG frame with a 64-byte id at an offset", () => {
  const id = "x".repeat(server.MAX_ID_BYTES);
  const image = new Uint8Array([0xff, 0xd8, 0xff, 0xd9]);
  const bytes = server.encodeFrame({ kind: "final", step: 65535, steps: 65535, format: "jpeg", id, image });
  const padded = new Uint8Array(bytes.length + 5);
  padded.set(bytes, 5);
  const decoded = client.decodeFrame(padded.subarray(5));
  equal(decoded.kind, "final");
  equal(decoded.format, "jpeg");
  equal(decoded.step, 65535);
  equal(decoded.id, id);
  deepStrictEqual([...decoded.image], [...image]);
});

Deno.test("the client's decodeFrame() rejects an unknown version, kind or format like the server", () => {
  const good = server.encodeFrame({
    kind: "preview",
    step: 1,
    steps: 2,
    format: "png",
    id: "a",
    image: new Uint8Array(1),
  });
  for (const [offset, value] of [[0, 2], [1, 9], [6, 7]]) {
    const bad = good.slice();
    bad[offset] = value;
    throws(() => server.decodeFrame(bad), RangeError);
    throws(() => client.decodeFrame(bad), RangeError);
  }
  throws(() => client.decodeFrame(new Uint8Array(3)), RangeError);
});

Deno.test("isValidId() accepts ids of 1 to MAX_ID_BYTES UTF-8 bytes", () => {
  equal(client.isValidId(""), false);
  equal(client.isValidId("a"), true);
  equal(client.isValidId("a".repeat(server.MAX_ID_BYTES)), true);
  equal(client.isValidId("ä".repeat(server.MAX_ID_BYTES / 2 + 1)), false);
});
