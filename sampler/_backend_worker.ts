/**
 * The worker side of {@linkcode workerBackend}: runs the in-process wasm backend of `create_backend.ts` and
 * answers the messages `worker_backend.ts` documents.
 *
 * @module
 */
import type { Backend, Session, TensorValue } from "./backend.ts";
import { createBackend } from "./create_backend.ts";
import type { WorkerReply, WorkerRequest } from "./worker_backend.ts";

/** The worker's global scope, as far as it is used here. */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
};
let backend: Backend | undefined;
const sessions = new Map<number, Session>();
let next = 0;

/** Output data in a buffer of its own (wasm memory is shared), so it can be transferred. */
function owned({ data, dims }: TensorValue): TensorValue {
  const own = data.buffer instanceof ArrayBuffer && data.byteLength === data.buffer.byteLength;
  return { data: own ? data : data.slice(), dims };
}

async function handle(request: WorkerRequest): Promise<[WorkerReply["result"], Transferable[]]> {
  switch (request.op) {
    case "start":
      backend = await createBackend("wasm", { threads: request.threads });
      return [undefined, []];
    case "create": {
      if (!backend) throw new Error("Cannot create a session as the wasm backend has not started");
      const session = await backend.createSession(request.model, request.label, request.options);
      sessions.set(++next, session);
      const { inputNames, outputNames, types } = session;
      return [{ session: next, inputNames: [...inputNames], outputNames: [...outputNames], types }, []];
    }
    case "run": {
      const session = sessions.get(request.session);
      if (!session) throw new Error(`Cannot run a session that was released (${request.label})`);
      const outputs = Object.fromEntries(
        Object.entries(await session.run(request.feeds)).map(([name, value]) => [name, owned(value)]),
      );
      return [outputs, Object.values(outputs).map((v) => v.data.buffer as ArrayBuffer)];
    }
    case "release": {
      const session = sessions.get(request.session);
      sessions.delete(request.session);
      await session?.release();
      return [undefined, []];
    }
  }
}

scope.onmessage = async ({ data: request }) => {
  try {
    const [result, transfer] = await handle(request);
    scope.postMessage({ id: request.id, result }, transfer);
  } catch (e) {
    scope.postMessage({ id: request.id, error: (e as Error)?.message ?? String(e) });
  }
};
