/**
 * tail/metrics.ts alone: the request path's tallies and stage histogram as /metrics prints them —
 * exact buckets (values above the last bucket counted only in +Inf), counts, sums, nothing added
 * twice across reads, and the queue depth read when scraped.
 */
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../tail/metrics.js';

const line = (text: string, re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);

describe('createMetrics', () => {
  it('bins each observation in its first bucket at or above it, +Inf holding those past the last, cumulative as Prometheus expects', async () => {
    const m = createMetrics();
    for (const x of [50, 51, 1_000_000, 1_000_001, 5e9]) m.latency.observe('queue', x);
    m.latency.observe('total', 7);
    const text = await m.registry.metrics();
    const bucket = (le: string, stage = 'queue'): number =>
      line(text, new RegExp(`^offramp_request_duration_us_bucket\\{le="${le.replace('+', '\\+')}",stage="${stage}"\\} (\\S+)$`, 'm'));
    expect([bucket('50'), bucket('100'), bucket('250000'), bucket('1000000'), bucket('+Inf')]).toEqual([1, 2, 2, 3, 5]);
    expect(line(text, /^offramp_request_duration_us_count\{stage="queue"\} (\S+)$/m)).toBe(5);
    expect(line(text, /^offramp_request_duration_us_sum\{stage="queue"\} (\S+)$/m)).toBe(50 + 51 + 1_000_000 + 1_000_001 + 5e9);
    expect([bucket('50', 'total'), bucket('+Inf', 'total')]).toEqual([1, 1]);
    // A stage never observed has no series.
    expect(text).not.toMatch(/stage="decode"/);
  });

  it('hands tallies to the registry once: a second read shows the same totals, later additions on top', async () => {
    const m = createMetrics();
    m.requests.add('ok');
    m.requests.add('ok');
    m.requests.add('QUEUE_FULL');
    m.bytes.add('in', 40);
    const read = async (): Promise<number[]> => {
      const t = await m.registry.metrics();
      return [/outcome="ok"\} (\S+)/, /outcome="QUEUE_FULL"\} (\S+)/, /direction="in"\} (\S+)/].map((re) => line(t, re));
    };
    expect(await read()).toEqual([2, 1, 40]);
    expect(await read()).toEqual([2, 1, 40]);
    m.bytes.add('in', 2);
    expect(await read()).toEqual([2, 1, 42]);
  });

  it('reads the queue depths from their source when scraped', async () => {
    const m = createMetrics();
    let depth = 3;
    m.readQueueDepths(() => [['a@1/tail', depth]]);
    expect(line(await m.registry.metrics(), /^offramp_queue_depth\{graph="a@1\/tail"\} (\S+)$/m)).toBe(3);
    depth = 0;
    expect(line(await m.registry.metrics(), /^offramp_queue_depth\{graph="a@1\/tail"\} (\S+)$/m)).toBe(0);
  });
});
