"""The entropic student's shapes and cost, and the exit's pooling (which must export to ONNX)."""
import glob
import os

import torch

from bundle import count_macs
from config import HERE, load_student
from model import Teacher
from student import BinPool, EntropicStudent


def test_bin_pool_equals_adaptive_pooling():
    for n in (7, 14):
        x = torch.rand(2, 3, n, n)
        assert torch.allclose(BinPool(2)(x), torch.nn.AdaptiveAvgPool2d(2)(x), atol=1e-6)


def test_shapes_and_head_cost_of_every_committed_config():
    teacher = Teacher()
    x = torch.rand(2, 1, 28, 28)
    full = count_macs(teacher, x)
    for c in glob.glob(os.path.join(HERE, "configs", "fmnist-*.yaml")):
        cfg = load_student([c])
        s = EntropicStudent(teacher, **vars(cfg.student)).eval()
        y, e = s.head(x)
        side = 14 if cfg.student.split_at == "stage1" else 7
        assert tuple(y.shape) == (2, cfg.student.channels, side, side) and tuple(e.shape) == (2, 10)
        assert tuple(s.tail(torch.round(y)).shape) == (2, 10)
        head = count_macs(torch.nn.Sequential(s.norm, s.encoder, s.latent), x) + count_macs(s.exit, s.encoder(s.norm(x)))
        assert head <= 0.05 * full, f"{c}: head + exit {head} MACs > 5% of {full}"


def test_tail_shortcut_adds_its_logits_from_the_rounded_latent():
    torch.manual_seed(0)
    s = EntropicStudent(Teacher(), channels=8, encoder="separable", encoder_widths=[8, 8, 8, 8], tail_shortcut=16).eval()
    y, _ = s.head(torch.rand(3, 1, 28, 28))
    yhat = torch.round(y)
    deep = s.classifier(s.rest(s.decoder(yhat)))
    assert torch.allclose(s.tail(yhat), deep + s.shortcut(yhat), atol=1e-6)
    assert EntropicStudent(Teacher(), channels=8, encoder="separable", encoder_widths=[8, 8, 8, 8]).shortcut is None
