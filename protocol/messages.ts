/**
 * The protocol's messages are the classes generated from offramp.proto (protobufjs static code):
 * no hand-written mirror. A decoded message has every field (proto3 defaults for absent ones);
 * `*Init` types are what callers build (any field may be omitted).
 */
import { offramp } from './generated/offramp.js';

/** The generated namespace (enums: `pb.Graph.GRAPH_FULL`, `pb.Want.WANT_TIMINGS`, ...). */
export const pb = offramp.v2;

/** A decoded message's fields: all present (proto3 defaults), nested messages too. */
type Filled<T> = { [K in Exclude<keyof T, '$unknowns'>]-?: Exclude<T[K], null | undefined> };

export type BundleRef = Filled<offramp.v2.BundleRef.$Properties>;
export type WireInputEncoding = Filled<offramp.v2.InputEncoding.$Properties>;
export type Limits = Filled<offramp.v2.Limits.$Properties>;
export type Timings = Filled<offramp.v2.Timings.$Properties>;
export type OutputTensor = Filled<offramp.v2.OutputTensor.$Properties>;
export type Hello = Omit<Filled<offramp.v2.Hello.$Properties>, 'bundle' | 'inputEncodings'> & { bundle: BundleRef; inputEncodings: WireInputEncoding[] };
export type HelloAck = Omit<Filled<offramp.v2.HelloAck.$Properties>, 'bundle' | 'limits'> & { bundle: BundleRef; limits: Limits };
export type Request = Filled<offramp.v2.Request.$Properties>;
export type Answer = Omit<Filled<offramp.v2.Answer.$Properties>, 'timings' | 'outputs'> & { timings: Timings | null; outputs: OutputTensor[] };
export type WireError = Filled<offramp.v2.Error.$Properties>;

export type HelloInit = offramp.v2.Hello.$Properties;
export type HelloAckInit = offramp.v2.HelloAck.$Properties;
export type RequestInit = offramp.v2.Request.$Properties;
export type AnswerInit = offramp.v2.Answer.$Properties;
export type ErrorInit = offramp.v2.Error.$Properties;
export type OutputTensorInit = offramp.v2.OutputTensor.$Properties;
export type InputEncodingInit = offramp.v2.InputEncoding.$Properties;

/** A decoded frame: which message it holds, and the message. */
export type Message =
  | { type: 'hello'; hello: Hello }
  | { type: 'helloAck'; helloAck: HelloAck }
  | { type: 'request'; request: Request }
  | { type: 'answer'; answer: Answer }
  | { type: 'error'; error: WireError };

/** A frame to encode: exactly one message, fields optional. */
export type MessageInit =
  | { type: 'hello'; hello: HelloInit }
  | { type: 'helloAck'; helloAck: HelloAckInit }
  | { type: 'request'; request: RequestInit }
  | { type: 'answer'; answer: AnswerInit }
  | { type: 'error'; error: ErrorInit };

/** Request.want flags. */
export const WANT = Object.freeze({ timings: pb.Want.WANT_TIMINGS, scores: pb.Want.WANT_SCORES, outputs: pb.Want.WANT_OUTPUTS });

/** Confidence on the wire: round(255 · p). */
export function confidenceToWire(p: number): number {
  return Math.max(0, Math.min(255, Math.round(p * 255)));
}

/** A wire confidence back to a probability (resolution 1/255). */
export function confidenceFromWire(q: number): number {
  return q / 255;
}

/** Bytes of `elements` values packed densely at `bits` bits each (no padding between values). */
export function packedByteLength(elements: number, bits: number): number {
  return Math.ceil((elements * bits) / 8);
}
