/**
 * TEMPORARY: head/transport.ts still imports `ws`; the browser build aliases it here, to the SDK's
 * own browser socket (head/socket-web.ts). Remove once the transport takes its socket from the
 * platform (head/platform.ts).
 */
import type { SocketLike } from '../../head/socket.js';
import { webSocket } from '../../head/socket-web.js';

export class WebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  constructor(url: string, protocols?: string[]) {
    // A constructor may return another object: the SDK's browser socket, with `ws`'s event API.
    return webSocket(url, protocols ?? [], {}) as unknown as WebSocket;
  }
}

export type { SocketLike };
export default WebSocket;
