import { describe, expect, it } from 'vitest';
import { LinkEstimator } from '../../head/link.js';

describe('LinkEstimator', () => {
  it('starts from the initial estimate, unavailable until told otherwise', () => {
    const l = new LinkEstimator({ initial: { rttMs: 40, uplinkBps: 5e6 } });
    expect(l.estimate()).toEqual({ available: false, rttMs: 40, uplinkBps: 5e6, downlinkBps: 5e6 });
    l.setAvailable(true);
    expect(l.estimate().available).toBe(true);
  });

  it('replaces the prior with the first measured RTT, then moves by alpha toward each ping', () => {
    const l = new LinkEstimator({ alpha: 0.5, initial: { rttMs: 100 } });
    l.observeRtt(NaN);
    expect(l.estimate().rttMs).toBe(100);
    l.observeRtt(20);
    expect(l.estimate().rttMs).toBe(20);
    l.observeRtt(40);
    expect(l.estimate().rttMs).toBe(30);
    l.observeRtt(NaN);
    expect(l.estimate().rttMs).toBe(30);
  });

  it("lets a provisional RTT (the handshake's) stand only until the next measured one", () => {
    const l = new LinkEstimator({ alpha: 0.5, initial: { rttMs: 100 } });
    l.observeRtt(8, true);
    expect(l.estimate().rttMs).toBe(8);
    l.observeRtt(2); // the first ping replaces it outright
    expect(l.estimate().rttMs).toBe(2);
    l.observeRtt(4);
    expect(l.estimate().rttMs).toBe(3);
    l.observeRtt(30, true); // a reconnect: maybe another network
    expect(l.estimate().rttMs).toBe(30);
    l.observeRtt(10);
    expect(l.estimate().rttMs).toBe(10);
    l.observeRtt(NaN, true); // ignored: the estimate stays measured
    l.observeRtt(20);
    expect(l.estimate().rttMs).toBe(15);
  });

  it("replaces a provisional RTT with a request's, where nothing pings (browsers)", () => {
    const l = new LinkEstimator({ alpha: 0.5, initial: { rttMs: 100, uplinkBps: 1e6 } });
    l.observeRtt(9, true);
    l.observeRequest(100, 100, 3); // under the RTT: an RTT sample
    expect(l.estimate()).toMatchObject({ rttMs: 3, uplinkBps: 1e6 });
    l.observeRequest(100, 100, 2); // measured now: moved by alpha
    expect(l.estimate().rttMs).toBe(2.5);
  });

  it('learns throughput only from transfers that stand out above the RTT', () => {
    const l = new LinkEstimator({ alpha: 1, initial: { rttMs: 10, uplinkBps: 1e6 } });
    l.observeRequest(100, 100, 10.5); // 0.5 ms above the RTT: an RTT sample, not a throughput one
    expect(l.estimate()).toMatchObject({ rttMs: 10.5, uplinkBps: 1e6 });
    l.observeRequest(12_500, 0, 20.5); // 12,500 B in 10 ms = 10 Mbit/s
    expect(l.estimate().uplinkBps).toBeCloseTo(10e6, 6);
  });

  it('attributes a transfer to both directions, and ignores requests with nothing sent or no usable time', () => {
    const l = new LinkEstimator({ alpha: 0.5, initial: { rttMs: 10, uplinkBps: 2e6, downlinkBps: 1e6 }, minTransferMs: 5 });
    l.observeRequest(10_000, 2_500, 20); // 12,500 B in 10 ms above the RTT = 10 Mbit/s
    expect(l.estimate()).toEqual({ available: false, rttMs: 10, uplinkBps: 6e6, downlinkBps: 5.5e6 });
    l.observeRequest(100, 0, 14); // 4 ms above the RTT, under minTransferMs: an RTT sample, replacing the prior
    expect(l.estimate()).toMatchObject({ rttMs: 14, uplinkBps: 6e6 });
    l.observeRequest(0, 0, 100);
    l.observeRequest(100, 100, -1);
    l.observeRequest(100, 100, Infinity);
    expect(l.estimate()).toEqual({ available: false, rttMs: 14, uplinkBps: 6e6, downlinkBps: 5.5e6 });
  });

  it('ignores negative RTTs', () => {
    const l = new LinkEstimator({ initial: { rttMs: 40 } });
    l.observeRtt(-3);
    expect(l.estimate().rttMs).toBe(40);
  });

  it('refuses alpha outside (0, 1]', () => {
    expect(() => new LinkEstimator({ alpha: 0 })).toThrow(new RangeError('alpha must be in (0, 1], got 0'));
    expect(() => new LinkEstimator({ alpha: 1.5 })).toThrow(new RangeError('alpha must be in (0, 1], got 1.5'));
  });
});
