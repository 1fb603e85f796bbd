"""Reference of the bottleneck's entropy coder (the TypeScript one is bottleneck/range-coder.ts;
the spec is docs/PROTOCOL.md, "Entropy codec"). A 32-bit multi-symbol arithmetic coder (Witten,
Neal and Cleary's, with pending bits for the middle-straddling case) over integer CDF tables of
2**16, written MSB first. It ends with the fewest bits that pin a value inside the final interval;
the decoder reads zero bits past the end, so trailing zero bytes are dropped.

Run as a script it is a filter for cross-language tests: JSON on stdin
{"op": "encode", "tables": [...], "symbols": [[...], ...]} -> {"payloads": ["hex", ...]}
{"op": "decode", "tables": [...], "payloads": ["hex", ...], "count": n} -> {"symbols": [[...], ...]}
where symbols are channel-major (channel c's values at positions c*count/C ...), one table per channel.
"""
import json
import sys

PRECISION = 16
TOTAL = 1 << PRECISION
TOP = (1 << 32) - 1
HALF = 1 << 31
QUARTER = 1 << 30


class BitWriter:
    def __init__(self):
        self.bits = []

    def put(self, bit, pending=0):
        self.bits.append(bit)
        self.bits.extend([1 - bit] * pending)

    def to_bytes(self):
        bits = self.bits + [0] * (-len(self.bits) % 8)
        out = bytearray()
        for i in range(0, len(bits), 8):
            byte = 0
            for b in bits[i:i + 8]:
                byte = (byte << 1) | b
            out.append(byte)
        while out and out[-1] == 0:
            out.pop()
        return bytes(out)


def encode(symbols, cdfs):
    """symbols[i] is coded with table cdfs[i] (a list starting at 0 and ending at 2**16);
    symbols are table indices (symbol - offset). Returns bytes."""
    low, high, pending = 0, TOP, 0
    out = BitWriter()
    for s, cdf in zip(symbols, cdfs):
        rng = high - low + 1
        high = low + (rng * cdf[s + 1] >> PRECISION) - 1
        low = low + (rng * cdf[s] >> PRECISION)
        while True:
            if high < HALF:
                out.put(0, pending)
                pending = 0
            elif low >= HALF:
                out.put(1, pending)
                pending = 0
                low -= HALF
                high -= HALF
            elif low >= QUARTER and high < HALF + QUARTER:
                pending += 1
                low -= QUARTER
                high -= QUARTER
            else:
                break
            low = 2 * low
            high = 2 * high + 1
    # The shortest v = m * 2**(32-k) in [low, high]; with pending bits at least one bit goes out.
    for k in range(1 if pending else 0, 33):
        unit = 1 << (32 - k)
        v = -(-low // unit) * unit
        if v <= high:
            break
    for i in range(k):
        bit = (v >> (31 - i)) & 1
        out.put(bit, pending if i == 0 else 0)
    return out.to_bytes()


def decode(data, cdfs):
    """Inverse of encode: one symbol (table index) per table in `cdfs`."""
    pos = [0]
    nbits = len(data) * 8

    def bit():
        i = pos[0]
        pos[0] += 1
        return (data[i >> 3] >> (7 - (i & 7))) & 1 if i < nbits else 0

    value = 0
    for _ in range(32):
        value = (value << 1) | bit()
    low, high = 0, TOP
    out = []
    for cdf in cdfs:
        rng = high - low + 1
        target = ((value - low + 1) * TOTAL - 1) // rng
        lo_i, hi_i = 0, len(cdf) - 2  # find s with cdf[s] <= target < cdf[s + 1]
        while lo_i < hi_i:
            mid = (lo_i + hi_i + 1) // 2
            if cdf[mid] <= target:
                lo_i = mid
            else:
                hi_i = mid - 1
        s = lo_i
        out.append(s)
        high = low + (rng * cdf[s + 1] >> PRECISION) - 1
        low = low + (rng * cdf[s] >> PRECISION)
        while True:
            if high < HALF:
                pass
            elif low >= HALF:
                value -= HALF
                low -= HALF
                high -= HALF
            elif low >= QUARTER and high < HALF + QUARTER:
                value -= QUARTER
                low -= QUARTER
                high -= QUARTER
            else:
                break
            low = 2 * low
            high = 2 * high + 1
            value = 2 * value + bit()
    return out


def channel_cdfs(tables, count):
    """The table of each of `count` channel-major symbols."""
    per = count // len(tables)
    return [t["cdf"] for t in tables for _ in range(per)]


def encode_tensor(symbols, tables):
    """symbols: flat channel-major ints (symbol values, not indices) for one sample."""
    cdfs = channel_cdfs(tables, len(symbols))
    per = len(symbols) // len(tables)
    idx = [s - tables[i // per]["offset"] for i, s in enumerate(symbols)]
    return encode(idx, cdfs)


def decode_tensor(data, tables, count):
    cdfs = channel_cdfs(tables, count)
    per = count // len(tables)
    return [s + tables[i // per]["offset"] for i, s in enumerate(decode(data, cdfs))]


def main():
    req = json.load(sys.stdin)
    tables = req["tables"]
    if req["op"] == "encode":
        json.dump({"payloads": [encode_tensor(s, tables).hex() for s in req["symbols"]]}, sys.stdout)
    elif req["op"] == "decode":
        json.dump({"symbols": [decode_tensor(bytes.fromhex(p), tables, req["count"]) for p in req["payloads"]]}, sys.stdout)
    else:
        raise SystemExit(f"unknown op {req['op']!r}")


if __name__ == "__main__":
    main()
