/**
 * `ws` in the browser build: never used there (the device's browser platform, head/platform-web.ts,
 * opens the browser's own WebSocket), but head/socket-node.ts imports it, and that Node.js-only
 * module is still bundled as a chunk nobody loads.
 */
export class WebSocket {
  constructor() {
    throw new Error('ws needs Node.js; browsers use head/socket-web.ts');
  }
}

export default WebSocket;
