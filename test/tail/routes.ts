/** Fake HTTP requests and responses for the edge's route and upgrade tests (no socket). */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A request with a method, URL and headers. */
export function fakeReq(method: string, url: string, headers: Record<string, string> = {}): IncomingMessage {
  return { method, url, headers, socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
}

/** A response that records its status, headers and body. */
export interface FakeRes {
  status: number;
  headers: Record<string, unknown>;
  body: string;
  ended: boolean;
  res: ServerResponse;
  json(): unknown;
}

export function fakeRes(): FakeRes {
  const r: FakeRes = {
    status: 0,
    headers: {},
    body: '',
    ended: false,
    res: undefined as unknown as ServerResponse,
    json: () => JSON.parse(r.body) as unknown,
  };
  const res = {
    headersSent: false,
    writeHead(status: number, headers?: Record<string, unknown>) {
      r.status = status;
      r.headers = headers ?? {};
      return res;
    },
    end(body?: string) {
      r.body = body ?? '';
      r.ended = true;
      return res;
    },
  };
  r.res = res as unknown as ServerResponse;
  return r;
}
