/** Limits applied when decoding a frame, before any work is done on it. */
export interface FrameLimits {
  /** Largest frame read, in bytes; a larger one ends its request with TOO_LARGE. */
  maxFrameBytes: number;
  /** Longest bundle id, version, client or server name, in characters. */
  maxIdLength: number;
  /** Longest free-text field (error message, auth token), in characters. */
  maxTextLength: number;
  /** Most entries in a handshake list (rate points, input encodings). */
  maxListLength: number;
  /** Most output tensors in an answer, and the highest rank of one. */
  maxOutputs: number;
  maxRank: number;
}

/** Safe defaults. */
export const DEFAULT_FRAME_LIMITS: Readonly<FrameLimits> = Object.freeze({
  maxFrameBytes: 4 * 1024 * 1024,
  maxIdLength: 128,
  maxTextLength: 4096,
  maxListLength: 64,
  maxOutputs: 64,
  maxRank: 8,
});
