/** The device transport's socket in Node.js: the `ws` client (binary frames as Buffers). */
import { WebSocket } from 'ws';
import type { SocketFactory } from './socket.js';

export const nodeSocket: SocketFactory = (url, protocols, headers) => {
  const ws = new WebSocket(url, protocols, Object.keys(headers).length ? { headers } : {});
  ws.binaryType = 'nodebuffer';
  return ws;
};
