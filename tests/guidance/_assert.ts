import assert from "@std/assert";

function check(error: unknown, text: string): true {
  if (!(error instanceof Error)) {
    throw new assert.AssertionError({ message: `expected an Error, got ${error}` });
  }
  if (!error.message.includes(text)) {
    throw new assert.AssertionError({
      message: `expected a message containing\n  ${text}\ngot\n  ${error.message}`,
    });
  }
  return true;
}

/** Asserts that `fn` throws an Error whose message contains `text`. */
export function assertThrowsWith(fn: () => unknown, text: string): void {
  assert.throws(fn, (error: unknown) => check(error, text));
}

/** Asserts that `fn` rejects with an Error whose message contains `text`. */
export async function assertRejectsWith(fn: () => Promise<unknown>, text: string): Promise<void> {
  await assert.rejects(fn, (error: unknown) => check(error, text));
}
