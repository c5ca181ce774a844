/**
 * `GET /ws`: generation over a WebSocket with live previews.
 *
 * Client → server: JSON `{type: "generate", id, …}` and `{type: "cancel", id}`.
 * Server → client: JSON events `queued | started | progress | done | cancelled | error` and binary image
 * frames (layout in `protocol.ts`); a job's final frame arrives before its `done` event. What a socket
 * does with its messages lives in `socket_session.ts`.
 *
 * @module
 */
import { Hono } from "hono";
import { upgradeWebSocket } from "hono/deno";
import type { WSContext } from "hono/ws";
import { apiError } from "./errors.ts";
import { type SocketSession, socketSession } from "./socket_session.ts";
import { readyEngine, type ServerState } from "./state.ts";
import { wsOriginAllowed } from "./ws_origin.ts";

/** The WebSocket app. */
export function wsRoutes(state: ServerState): Hono {
  const app = new Hono();
  app.get(
    "/ws",
    async (c, next) => {
      const { WS_ORIGINS: allowed, HOST: host } = state.config;
      if (!wsOriginAllowed(c.req.header("origin"), { allowed, host })) {
        throw apiError({
          code: "forbidden",
          message: `Cannot open a socket from origin ${c.req.header("origin")}`,
        });
      }
      readyEngine(state);
      await next();
    },
    upgradeWebSocket(() => {
      let socket: WSContext | undefined;
      const session: SocketSession = socketSession(state, {
        isOpen: () => socket?.readyState === 1,
        send: (data) => socket?.send(data),
        bufferedAmount: () => (socket?.raw as WebSocket | undefined)?.bufferedAmount ?? 0,
        close: (code, reason) => socket?.close(code, reason),
      });
      return {
        onOpen(_event, ws) {
          socket = ws;
          state.sockets.add(ws);
        },
        onMessage: (event) => session.onMessage(event.data),
        onClose(_event, ws) {
          session.onClose();
          state.sockets.delete(ws);
          socket = undefined;
        },
      };
    }),
  );
  return app;
}
