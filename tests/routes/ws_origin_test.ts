import { equal } from "@std/assert";
import { wsOriginAllowed } from "../../routes/ws_origin.ts";

Deno.test("wsOriginAllowed() accepts loopback origins on any port and requests without an Origin", () => {
  for (
    const origin of [
      "http://127.0.0.1:8000",
      "http://localhost:5173",
      "https://127.3.4.5",
      "http://[::1]:8000",
    ]
  ) {
    equal(wsOriginAllowed(origin, { allowed: [], host: "0.0.0.0" }), true, origin);
  }
  equal(wsOriginAllowed(undefined, { allowed: [], host: "0.0.0.0" }), true);
});

Deno.test("wsOriginAllowed() refuses other origins whatever Host they reach the server with", () => {
  // DNS rebinding: evil.example resolves to the server, so the browser sends the same Host as Origin.
  for (
    const origin of ["http://evil.example:8000", "http://127.0.0.1.evil.example", "null", "file://x", "x"]
  ) {
    equal(wsOriginAllowed(origin, { allowed: [], host: "0.0.0.0" }), false, origin);
    equal(wsOriginAllowed(origin, { allowed: [], host: "127.0.0.1" }), false, origin);
  }
});

Deno.test("wsOriginAllowed() accepts the configured HOST and the WS_ORIGINS allow-list", () => {
  equal(wsOriginAllowed("http://gen.internal:8000", { allowed: [], host: "gen.internal" }), true);
  equal(wsOriginAllowed("http://10.0.0.5:8000", { allowed: [], host: "10.0.0.5" }), true);
  equal(wsOriginAllowed("http://10.0.0.6:8000", { allowed: [], host: "10.0.0.5" }), false);
  equal(wsOriginAllowed("https://app.example", { allowed: ["https://app.example"], host: "0.0.0.0" }), true);
  equal(
    wsOriginAllowed("https://other.example", { allowed: ["https://app.example"], host: "0.0.0.0" }),
    false,
  );
  equal(wsOriginAllowed("https://other.example", { allowed: ["*"], host: "0.0.0.0" }), true);
});
