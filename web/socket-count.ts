/**
 * Counts the WebSockets this context opens and has not seen close, by wrapping the platform's
 * WebSocket class (whatever code creates them). The page shows the count; the leak test reads it.
 */
let open = 0;
let most = 0;

/** WebSockets created here whose close event has not fired. */
export function openSockets(): number {
  return open;
}

/** The most WebSockets open at once so far. */
export function mostSockets(): number {
  return most;
}

/** Replaces `globalThis.WebSocket` with a counting subclass (once). */
export function countSockets(): void {
  const Base = globalThis.WebSocket;
  if ((Base as unknown as { counted?: boolean }).counted) return;
  class Counted extends Base {
    static counted = true;
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      most = Math.max(most, ++open);
      this.addEventListener('close', () => open--, { once: true });
    }
  }
  globalThis.WebSocket = Counted;
}
