"""The factorized prior's tables and the codec's quantization."""
import torch

from entropy import CDF_PRECISION, FactorizedPrior, quantize_pmf, quantize_symbols, table_bits


def test_quantize_pmf_sums_to_the_precision_and_keeps_every_symbol():
    cdf = quantize_pmf([0.7, 0.2, 1e-12, 0.1])
    assert cdf[0] == 0 and cdf[-1] == 1 << CDF_PRECISION
    freqs = [b - a for a, b in zip(cdf, cdf[1:])]
    assert min(freqs) >= 1 and len(freqs) == 4
    # 65,532 counts shared in proportion (largest remainder), then one count per symbol.
    assert freqs == [45873, 13108, 1, 6554]
    assert quantize_pmf([1.0]) == [0, 65536]


def test_tables_cover_the_latent_and_quantize_like_the_codec():
    torch.manual_seed(0)
    prior = FactorizedPrior(3)
    opt = torch.optim.Adam(prior.parameters(), lr=0.05)
    y = torch.randn(512, 3, 4, 4) * torch.tensor([0.3, 2.0, 6.0]).view(1, 3, 1, 1)
    for _ in range(300):
        loss = prior.bits(y + torch.rand_like(y) - 0.5).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    tables = prior.tables(1.0)
    widths = [len(t["cdf"]) - 1 for t in tables]
    assert widths[0] < widths[1] < widths[2]  # wider channels need wider supports
    q = quantize_symbols(y, 1.0, tables)
    for c, t in enumerate(tables):
        assert q[:, c].min() >= t["offset"] and q[:, c].max() <= t["offset"] + len(t["cdf"]) - 2
    # The tables' code length is close to the continuous model's estimate of the same symbols.
    est = prior.bits(torch.round(y)).mean().item()
    assert abs(table_bits(q, tables).mean().item() - est) < 0.02 * est + 1


def test_symbols_are_floor_of_a_true_division():
    tables = [{"offset": -20, "cdf": quantize_pmf([1.0] * 41)}]
    y = torch.tensor([0.875, -2.625, 1.625]).view(1, 1, 1, 3)
    assert quantize_symbols(y, 0.07, tables).flatten().tolist() == [12, -20, 20]
    # -2.625 / 0.35 is -7.500000000000001 in float64: floor(x / step + 0.5) gives -8, as the TS codec does.
    assert quantize_symbols(y, 0.35, tables).flatten().tolist() == [3, -8, 5]
