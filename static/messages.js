/**
 * One wording for every error the page shows: what failed, why, and the current value, in sentence case
 * without a final period (`Cannot generate as 'steps' must be at least 1: current value is 0`). The server's
 * validation answers with zod's default messages for some fields; they are rewritten here. No DOM, so the
 * Deno tests can check it.
 *
 * @module
 */

/** zod's default messages, as patterns, with the phrase each becomes. */
const _ZOD_PHRASES = /** @type {[RegExp, (...groups: string[]) => string][]} */ ([
  [
    /^Too small: expected string to have >=?(\d+) characters?$/,
    (n) => `must be at least ${n} characters long`,
  ],
  [/^Too big: expected string to have <=?(\d+) characters?$/, (n) => `must be at most ${n} characters long`],
  [/^Too small: expected number to be >=(\S+)$/, (n) => `must be at least ${n}`],
  [/^Too small: expected number to be >(\S+)$/, (n) => `must be above ${n}`],
  [/^Too big: expected number to be <=(\S+)$/, (n) => `must be at most ${n}`],
  [/^Too big: expected number to be <(\S+)$/, (n) => `must be below ${n}`],
  [/^Invalid input: expected int, received \w+$/, () => "must be an integer"],
  [/^Invalid input: expected (\w+), received \w+$/, (type) => `must be ${_article(type)}`],
  [
    /^Invalid option: expected one of (.+)$/,
    (list) => `must be one of ${list.replaceAll('"', "").replaceAll("|", ", ")}`,
  ],
]);

/** @param {string} type a zod type name @returns {string} */
function _article(type) {
  if (type === "string") return "text";
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/**
 * The value at a dotted path of a request, e.g. `guidance.scale`.
 *
 * @param {Record<string, any> | undefined} request
 * @param {string} field
 * @returns {unknown}
 */
function _valueAt(request, field) {
  /** @type {any} */
  let value = request;
  for (const key of field.split(".")) value = value?.[key];
  return value;
}

/**
 * How a current value reads in a message: strings quoted (their length when long), numbers as they are.
 *
 * @param {unknown} value
 * @returns {string}
 */
function _show(value) {
  if (typeof value === "string") return value.length > 24 ? `${value.length} characters long` : `'${value}'`;
  return JSON.stringify(value) ?? String(value);
}

/**
 * Rewrites one validation message about a request field in the project's wording; a message already in
 * it (starting "Cannot") is kept as it is.
 *
 * @param {string} field the request field, e.g. `steps` or `guidance.scale`; empty for the whole request
 * @param {string} message as the server sent it
 * @param {Record<string, any>} [request] the request that was sent, to name the current value
 * @returns {string}
 * @example
 * ```js
 * styleMessage("steps", "Too small: expected number to be >=1", { steps: 0 });
 * // "Cannot generate as 'steps' must be at least 1: current value is 0"
 * ```
 */
export function styleMessage(field, message, request) {
  if (/^Cannot /.test(message)) return message;
  const unknown = message.match(/^Unrecognized keys?: (.+)$/);
  if (unknown) return `Cannot generate as the request has unknown fields: ${unknown[1].replaceAll('"', "")}`;
  let phrase = null;
  for (const [pattern, make] of _ZOD_PHRASES) {
    const match = message.match(pattern);
    if (match) {
      phrase = make(...match.slice(1));
      break;
    }
  }
  // Refinements already read as a phrase ("must be a finite number"); anything else is quoted as it came.
  phrase ??= /^[a-z]/.test(message) ? message : `is invalid (${message})`;
  const subject = field ? `'${field}'` : "the request";
  const value = field ? _valueAt(request, field) : undefined;
  return `Cannot generate as ${subject} ${phrase}${
    value === undefined ? "" : `: current value is ${_show(value)}`
  }`;
}

/**
 * An `error` event's message in the project's wording, with its field when it names one. The server sums
 * several zod issues up as `Invalid request: 'field' message; …`; the first issue's field is the event's.
 *
 * @param {{ message?: string, code?: string, field?: string, issues?: { field: string, message: string }[] }} event
 * @param {Record<string, any>} [request]
 * @returns {{ message: string, field?: string, issues: { field: string, message: string }[] }}
 */
export function styleError(event, request) {
  const issues = (Array.isArray(event.issues) ? event.issues : [])
    .filter((i) => i && typeof i.message === "string")
    .map((i) => ({ field: i.field ?? "", message: styleMessage(i.field ?? "", i.message, request) }));
  let message = event.message ?? `Cannot generate as the server answered ${event.code}`;
  if (issues.length) {
    message = issues.map((i) => i.message).join("; ");
  } else {
    const summed = message.match(/^Invalid request: (?:'([^']*)' )?(.*)$/);
    if (summed && !summed[2].includes("; ")) message = styleMessage(summed[1] ?? "", summed[2], request);
  }
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
