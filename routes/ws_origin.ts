/**
 * Which web pages may open `/ws`. The `Host` header is never trusted: with DNS rebinding a page at
 * `http://evil.example:8000` reaches a local server with `Host: evil.example:8000`, so "same host as the
 * request" would let any site in.
 *
 * @module
 */

const LOOPBACK = /^(localhost|.+\.localhost|127(\.\d{1,3}){3}|\[::1\])$/i;
const ANY_ADDRESS = new Set(["0.0.0.0", "::", "[::]"]);

/**
 * Whether a socket may be opened from `origin`: no Origin (not a browser), an origin in `allowed` (or
 * `*` there), a loopback origin (`localhost`, `127.x.x.x`, `[::1]`, any port), or the configured `HOST`
 * when it names one address or name.
 *
 * @example
 * ```ts
 * wsOriginAllowed("http://127.0.0.1:8000", { allowed: [], host: "127.0.0.1" }); // true
 * wsOriginAllowed("http://evil.example:8000", { allowed: [], host: "0.0.0.0" }); // false
 * ```
 */
export function wsOriginAllowed(
  origin: string | undefined,
  { allowed, host }: { allowed: readonly string[]; host: string },
): boolean {
  if (origin === undefined || allowed.includes("*") || allowed.includes(origin)) return true;
  let hostname: string;
  try {
    const url = new URL(origin);
    if (url.protocol !== "http:" && url.protocol !== "https:") return false;
    hostname = url.hostname;
  } catch {
    return false;
  }
  if (LOOPBACK.test(hostname)) return true;
  const configured = host.toLowerCase();
  return !ANY_ADDRESS.has(configured) && (hostname === configured || hostname === `[${configured}]`);
}
