/** Wire protocol version spoken by this build; bumped on breaking changes to offramp.proto. */
export const PROTOCOL_VERSION = 2;

/** Every version this build speaks (an edge names them when it refuses another). */
export const SUPPORTED_VERSIONS: readonly number[] = Object.freeze([2]);

/** WebSocket subprotocol names: this version's, and older ones an edge accepts only to refuse them with a clear error. */
export const SUBPROTOCOL = 'offramp.v2';
export const KNOWN_SUBPROTOCOLS: readonly string[] = Object.freeze(['offramp.v2', 'offramp.v1']);
