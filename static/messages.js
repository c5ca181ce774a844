/**
 * One wording for every error the page shows: what failed, why, and the current value, in sentence case
 * without a final period (`Cannot generate as 'steps' must be at least 1: current value is 0`). The server
 * (routes/schemas.ts) and the local runner already send messages in that wording; this module only picks
 * the field to show each beside. No DOM, so the Deno tests can check it.
 *
 * @module
 */

/**
 * An `error` event's message, with its field when it names one (else its first issue's field). The server
 * already words every message, validation issues included, as the module summary says.
 *
 * @param {{ message?: string, code?: string, field?: string, issues?: { field: string, message: string }[] }} event
 * @returns {{ message: string, field?: string, issues: { field: string, message: string }[] }}
 */
export function styleError(event) {
  const issues = (Array.isArray(event.issues) ? event.issues : [])
    .filter((i) => i && typeof i.message === "string")
    .map((i) => ({ field: i.field ?? "", message: i.message }));
  const message = issues.length
    ? issues.map((i) => i.message).join("; ")
    : event.message ?? `Cannot generate as the server answered ${event.code}`;
  return { message, field: event.field || issues[0]?.field || undefined, issues };
}

/**
 * A message shortened for the place next to its field, where the field needs no naming again:
 * `Cannot generate as 'steps' must be at least 1: current value is 0` → `Must be at least 1: current value is 0`.
 *
 * @param {string} message
 * @param {string} field
 * @returns {string}
 */
export function fieldMessage(message, field) {
  const prefix = `Cannot generate as '${field}' `;
  if (!message.startsWith(prefix)) return message;
  const rest = message.slice(prefix.length);
  return rest.charAt(0).toUpperCase() + rest.slice(1);
}
