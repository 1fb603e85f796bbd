"""Typed configs: defaults, YAML files, --key=value overrides, and the errors a typo gets."""
import glob
import os

import pytest

from config import HERE, load_student, load_teacher


def test_defaults_and_overrides(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("bundle: {id: fmnist-b16, budget_bytes: 16}\nrate: {target_bytes: 14.5}\n")
    cfg = load_student([str(f), "--joint.epochs=3", "--student.channels=8"])
    assert cfg.bundle.id == "fmnist-b16" and cfg.bundle.budget_bytes == 16.0
    assert cfg.rate.target_bytes == 14.5 and cfg.rate.lambda_lr == 0.005  # the default kept
    assert cfg.joint.epochs == 3 and cfg.finetune.epochs == 4
    assert cfg.student.channels == 8 and cfg.student.split_at == "stage2"


def test_unknown_keys_and_wrong_types_fail_with_the_path():
    with pytest.raises(ValueError, match=r"joint: unknown key\(s\) epoch"):
        load_student(["--joint.epoch=3"])
    with pytest.raises(ValueError, match="seed: expected int"):
        load_student(["--seed=abc"])


def test_every_committed_config_loads():
    configs = glob.glob(os.path.join(HERE, "configs", "*.yaml"))
    assert configs
    for c in configs:
        if os.path.basename(c) == "teacher.yaml":
            assert load_teacher([c]).epochs == 30
        else:
            cfg = load_student([c])
            assert cfg.bundle.id == os.path.basename(c)[:-5]
