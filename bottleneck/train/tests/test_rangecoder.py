"""The reference coder: round trips, the empty payload, and sizes near the ideal code length."""
import math
import random

import rangecoder
from entropy import quantize_pmf


def test_round_trips_and_size_near_the_ideal():
    rng = random.Random(1)
    ideal = total = 0
    for _ in range(100):
        tables = [{"offset": rng.randint(-9, 2), "cdf": quantize_pmf([rng.random() ** 4 for _ in range(rng.randint(1, 20))])} for _ in range(rng.randint(1, 6))]
        per = rng.randint(1, 40)
        symbols = []
        for t in tables:
            w = [b - a for a, b in zip(t["cdf"], t["cdf"][1:])]
            for _ in range(per):
                i = rng.choices(range(len(w)), weights=w)[0]
                symbols.append(i + t["offset"])
                ideal += -math.log2(w[i] / 65536)
        data = rangecoder.encode_tensor(symbols, tables)
        assert rangecoder.decode_tensor(data, tables, len(symbols)) == symbols
        total += len(data)
    assert total * 8 <= ideal * 1.01 + 2 * 8 * 100


def test_certain_symbols_cost_nothing():
    tables = [{"offset": 3, "cdf": [0, 65536]}]
    assert rangecoder.encode_tensor([3] * 50, tables) == b""
    assert rangecoder.decode_tensor(b"", tables, 50) == [3] * 50
