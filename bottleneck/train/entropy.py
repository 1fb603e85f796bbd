"""The learned entropy model of the bottleneck: Balle et al. 2018's non-parametric factorized
density (the design of CompressAI's EntropyBottleneck, written here from the paper), one density
per channel, and its export as the integer CDF tables the range coder uses (bottleneck/entropy.ts
and rangecoder.py).

Symbols are q = floor(y / step + 0.5), clamped to the channel's table support [lo, hi]; the tail
receives q * step. While training, the rate term sees y + U(-0.5, 0.5) (a differentiable proxy
of rounding) and the decoder sees the rounded value with a straight-through gradient.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

CDF_PRECISION = 16  # table entries are integers summing to 2**16
TAIL_MASS = 1e-9    # probability left outside a channel's support on each side
SEARCH_RANGE = 256  # supports are searched within [-SEARCH_RANGE, SEARCH_RANGE] (symbols)
LIKELIHOOD_FLOOR = 1e-9


class FactorizedPrior(nn.Module):
    """p(y_c) for each of `channels` channels: a monotone function f_c (a chain of small
    matrices with positive weights and tanh gates) whose sigmoid is the CDF; the likelihood of a
    rounded value k is F(k + 0.5) - F(k - 0.5)."""

    def __init__(self, channels, filters=(3, 3, 3), init_scale=10.0):
        super().__init__()
        self.channels = channels
        dims = (1,) + tuple(filters) + (1,)
        scale = init_scale ** (1 / (len(filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(filters) + 1):
            init = math.log(math.expm1(1 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, dims[i + 1], 1) - 0.5))
            if i < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))

    def logits_cdf(self, v):
        """f_c(v) for v of shape [channels, 1, n]: the logit of the CDF."""
        x = v
        for i, m in enumerate(self.matrices):
            x = torch.matmul(F.softplus(m), x) + self.biases[i]
            if i < len(self.factors):
                x = x + torch.tanh(self.factors[i]) * torch.tanh(x)
        return x

    def likelihood(self, y):
        """P(round(y) | y on the integer grid) for y [N, C, H, W], computed as
        F(y + 0.5) - F(y - 0.5) with the sign trick for precision in the tails."""
        n, c, h, w = y.shape
        v = y.permute(1, 0, 2, 3).reshape(c, 1, -1)
        lower = self.logits_cdf(v - 0.5)
        upper = self.logits_cdf(v + 0.5)
        sign = -torch.sign(lower + upper).detach()
        lik = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        lik = lik.clamp_min(LIKELIHOOD_FLOOR)
        return lik.reshape(c, n, h, w).permute(1, 0, 2, 3)

    def bits(self, y):
        """Estimated bits per sample [N] of the values y (already rounded or noisy)."""
        return -torch.log2(self.likelihood(y)).flatten(1).sum(1)

    @torch.no_grad()
    def cdf_at(self, points):
        """F_c at each of `points` (a 1-D tensor) for every channel: [channels, len(points)], float64."""
        v = points.to(torch.float32).reshape(1, 1, -1).expand(self.channels, 1, -1).contiguous()
        return torch.sigmoid(self.logits_cdf(v)).reshape(self.channels, -1).double()

    @torch.no_grad()
    def tables(self, step=1.0, precision=CDF_PRECISION, tail_mass=TAIL_MASS):
        """Per-channel integer CDF tables for symbols q = floor(y / step + 0.5):
        [{"offset": lo, "cdf": [0, ..., 2**precision]}], len(cdf) = hi - lo + 2. The first and last
        symbols also carry the tails (the coder clamps to [lo, hi])."""
        ks = torch.arange(-SEARCH_RANGE, SEARCH_RANGE + 1, dtype=torch.float64)
        edges = torch.cat([ks - 0.5, ks[-1:] + 0.5]) * step
        cdf = self.cdf_at(edges)  # [C, len(ks) + 1]
        out = []
        for c in range(self.channels):
            row = cdf[c]
            # Support: the symbols whose interval reaches past tail_mass on either side.
            inside = ((row[1:] > tail_mass) & (row[:-1] < 1 - tail_mass)).nonzero().flatten()
            if len(inside) == 0:
                inside = torch.tensor([SEARCH_RANGE])
            a, b = int(inside[0]), int(inside[-1])
            pmf = (row[1:] - row[:-1])[a:b + 1].clone()
            pmf[0] += row[a]          # everything below the support rounds to lo
            pmf[-1] += 1 - row[b + 1]  # everything above to hi
            out.append({"offset": int(ks[a]), "cdf": quantize_pmf(pmf.tolist(), precision)})
        return out


def quantize_pmf(pmf, precision=CDF_PRECISION):
    """Integer frequencies summing to 2**precision, every symbol >= 1, as a cumulative table
    starting at 0. Deterministic: largest-remainder rounding, then the surplus or deficit is taken
    from / given to the most probable symbols (ties by index)."""
    total = 1 << precision
    n = len(pmf)
    if n > total:
        raise ValueError(f"{n} symbols do not fit a {precision}-bit table")
    s = sum(pmf)
    pmf = [max(p, 0.0) / s for p in pmf] if s > 0 else [1.0 / n] * n
    spare = total - n  # one count per symbol is reserved
    raw = [p * spare for p in pmf]
    freq = [int(math.floor(r)) for r in raw]
    left = spare - sum(freq)
    order = sorted(range(n), key=lambda i: (-(raw[i] - freq[i]), i))
    for i in order[:left]:
        freq[i] += 1
    freq = [f + 1 for f in freq]
    assert sum(freq) == total
    cdf = [0]
    for f in freq:
        cdf.append(cdf[-1] + f)
    return cdf


def quantize_symbols(y, step, tables):
    """The codec's exact quantization on float64: q = clamp(floor(y / step + 0.5), lo, hi) per
    channel. y: [N, C, H, W] tensor; returns int64 symbols of the same shape."""
    q = torch.floor(y.double() / step + 0.5)
    lo = torch.tensor([t["offset"] for t in tables], dtype=torch.float64).view(1, -1, 1, 1)
    hi = torch.tensor([t["offset"] + len(t["cdf"]) - 2 for t in tables], dtype=torch.float64).view(1, -1, 1, 1)
    return torch.max(torch.min(q, hi), lo).to(torch.int64)


def table_bits(symbols, tables):
    """Ideal bits per sample [N] of integer symbols [N, C, H, W] under the quantized tables."""
    n, c = symbols.shape[:2]
    bits = torch.zeros(n, dtype=torch.float64)
    for ch, t in enumerate(tables):
        cdf = torch.tensor(t["cdf"], dtype=torch.float64)
        idx = symbols[:, ch].reshape(n, -1) - t["offset"]
        p = (cdf[idx + 1] - cdf[idx]) / (1 << CDF_PRECISION)
        bits -= torch.log2(p).sum(1)
    return bits
