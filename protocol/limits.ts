/** Limits applied when decoding a frame, before any work is done on it. */
export interface FrameLimits {
  /** Largest frame accepted, in bytes. */
  maxFrameBytes: number;
  /** Largest element count of a request tensor. */
  maxElements: number;
  /** Largest tensor rank. */
  maxRank: number;
  /** Longest request id, bundle id, tensor name or client name, in characters. */
  maxIdLength: number;
  /** Longest free-text field (error message, auth token), in characters. */
  maxTextLength: number;
  /** Most scores in a response. */
  maxScores: number;
}

/** Safe defaults: a 12×28×28 float32 feature (37,632 B) fits many times over. */
export const DEFAULT_FRAME_LIMITS: Readonly<FrameLimits> = Object.freeze({
  maxFrameBytes: 4 * 1024 * 1024,
  maxElements: 1 << 22,
  maxRank: 8,
  maxIdLength: 128,
  maxTextLength: 4096,
  maxScores: 100_000,
});
