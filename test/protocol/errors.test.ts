/**
 * OfframpError.unstacked: the refusal an overloaded edge builds by the thousand per second, the
 * same error without a captured stack trace (and the process's stack trace limit left as it was).
 */
import { describe, expect, it } from 'vitest';
import { isOfframpError, OfframpError } from '../../protocol/errors.js';

describe('OfframpError.unstacked', () => {
  it('is the same error, code, request id and retry hint included, with no stack frames', () => {
    const limit = Error.stackTraceLimit;
    const e = OfframpError.unstacked('QUEUE_FULL', 'queue for m/tail holds 1024 requests', { requestId: 7, retryAfterMs: 12 });
    expect(isOfframpError(e, 'QUEUE_FULL')).toBe(true);
    expect(e).toMatchObject({ name: 'OfframpError', code: 'QUEUE_FULL', message: 'queue for m/tail holds 1024 requests', requestId: 7, retryAfterMs: 12 });
    expect(e.stack).toBe('OfframpError: queue for m/tail holds 1024 requests');
    expect(Error.stackTraceLimit).toBe(limit);
    // An ordinary one still carries its frames.
    expect(new OfframpError('QUEUE_FULL', 'x').stack!.split('\n').length).toBeGreaterThan(1);
  });
});
