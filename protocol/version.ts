/** Wire protocol version spoken by this build; bumped on breaking changes to offramp.proto. */
export const PROTOCOL_VERSION = 1;
