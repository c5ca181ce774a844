/**
 * Reading a child process's output: drained as it comes, so the child never blocks on a full pipe,
 * line by line, keeping the tail for failure messages. Used by the bench and the test servers.
 *
 * @module
 */

/** A drained stream: its last `keep` characters, and when it ended. */
export interface DrainedOutput {
  tail(): string;
  done: Promise<void>;
}

/** Drains `stream`, calling `onLine` for each complete line and keeping the last `keep` characters. */
export function drainLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void = () => {},
  keep = 16_000,
): DrainedOutput {
  let tail = "";
  const done = (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      tail = (tail + text).slice(-keep);
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) onLine(line);
    }
  })().catch(() => {});
  return { tail: () => tail, done };
}
