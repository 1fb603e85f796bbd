"""Typed experiment configs (nanoGPT style: defaults here, a YAML file per experiment, any key
overridden with --key=value, nested keys with dots: --finetune.epochs=2). Unknown keys are an
error, so a typo in a config fails at once instead of training the wrong thing."""
import dataclasses
import os
import typing
from dataclasses import dataclass, field

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def resolve(path):
    """Relative paths in configs are relative to bottleneck/train/."""
    return path if os.path.isabs(path) else os.path.join(HERE, path)


@dataclass
class BundleInfo:
    id: str = "fmnist-b32"
    version: str = "2.0.0"
    # Mean payload bytes per sample the bundle is built for (the entropy-coded size on the test set).
    budget_bytes: float = 32.0


@dataclass
class TeacherRef:
    config: str = "configs/teacher.yaml"
    checkpoint: str = "checkpoints/teacher.pt"


@dataclass
class StudentConfig:
    # Latent channels at 7x7 (the entropy model decides how many carry bits).
    channels: int = 24
    # "plain": conv stride 2 (28 -> 14), conv stride 2 (14 -> 7), conv stride 1 (three widths);
    # "separable": conv stride 2, then three depthwise-separable blocks, the second strided (four widths).
    encoder: str = "plain"
    encoder_widths: typing.List[int] = field(default_factory=lambda: [24, 48, 48])
    exit_hidden: int = 64
    decoder_width: int = 96
    # Fixed gain on the latent before rounding (starts it wider than the rounding step).
    latent_gain: float = 8.0
    # Where the decoder lands in the teacher: "stage2" (7x7 latent) or "stage1" (14x14 latent).
    split_at: str = "stage2"
    # With split_at stage1: keep the latent at 7x7 and let the decoder upsample it to 14x14.
    decoder_upsample: bool = False
    # > 0: the tail also classifies the rounded latent directly (2x2 bins, a hidden layer this
    # wide) and adds those logits to the teacher path's; 0: the teacher path alone.
    tail_shortcut: int = 0


@dataclass
class RateConfig:
    # The estimated entropy-coded bytes per sample training steers to (dual ascent on lambda).
    target_bytes: float = 29.0
    lambda_init: float = 0.01
    # Dual ascent step: lambda changes by at most this fraction per step (the error is clipped to ±100%).
    lambda_lr: float = 0.005
    # Steps (per stage) before lambda starts following the rate.
    warmup_steps: int = 300
    # The entropy model's learning rate relative to the stage's.
    prior_lr_scale: float = 5.0
    # Quantization steps the bundle offers as rate points (1 = as trained; 2, 3 ... coarser).
    steps: typing.List[float] = field(default_factory=lambda: [1.0])


@dataclass
class LossConfig:
    kd_temperature: float = 4.0
    # Weight of the teacher's soft labels against the hard labels.
    kd_alpha: float = 0.9
    # Weight of the feature distillation term (decoder output vs the teacher's stage-2 output).
    feature_weight: float = 1.0
    exit_weight: float = 0.5


@dataclass
class StageConfig:
    epochs: int = 8
    lr: float = 0.003
    batch_size: int = 256
    weight_decay: float = 1e-4
    # The encoder's learning rate relative to the stage's (below 1 keeps a pretrained head's features).
    encoder_lr_scale: float = 1.0


@dataclass
class StudentExperiment:
    bundle: BundleInfo = field(default_factory=BundleInfo)
    seed: int = 1
    val_size: int = 5000
    threads: int = 2
    # Train on the first `subset` images only (smoke runs); 0 = all.
    subset: int = 0
    # Mirror each training image left-right with probability 1/2 (the teacher's targets for the
    # mirrored images are cached beside the plain ones).
    augment_flip: bool = False
    teacher: TeacherRef = field(default_factory=TeacherRef)
    student: StudentConfig = field(default_factory=StudentConfig)
    rate: RateConfig = field(default_factory=RateConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    # Stage 0 (optional, epochs > 0): the encoder and the exit alone learn to classify from the
    # teacher's logits, for many cheap epochs (no tail, no rate); cached under cache_dir and shared
    # by every rate point with the same encoder, so each rate point starts from a trained head.
    pretrain: StageConfig = field(default_factory=lambda: StageConfig(epochs=0, lr=0.003))
    # Stage 1: everything end to end against the teacher's logits and features + lambda * rate.
    joint: StageConfig = field(default_factory=lambda: StageConfig(epochs=12, lr=0.002))
    # Stage 2: encoder and entropy model frozen; decoder, tail and exit adapt to the rounded latent.
    finetune: StageConfig = field(default_factory=lambda: StageConfig(epochs=4, lr=0.0005))
    thresholds: typing.List[float] = field(default_factory=lambda: [
        0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999])
    out: str = "runs/fmnist-b32"
    export_dir: str = "../../models/fmnist-b32"
    cache_dir: str = "runs/cache"


@dataclass
class TeacherModel:
    w1: int = 32
    w2: int = 64
    w3: int = 128
    dropout: float = 0.3


@dataclass
class TeacherExperiment:
    stage: str = "teacher"
    seed: int = 1
    val_size: int = 5000
    threads: int = 2
    subset: int = 0
    epochs: int = 30
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 0.0005
    label_smoothing: float = 0.0
    augment: bool = True
    resume: bool = False
    model: TeacherModel = field(default_factory=TeacherModel)
    out: str = "runs/teacher"


def _build(cls, data, where):
    """A dataclass instance from nested dicts, checking every key."""
    if not isinstance(data, dict):
        raise ValueError(f"{where or 'config'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{where or 'config'}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    kwargs = {}
    for k, v in data.items():
        t = hints[k]
        path = f"{where}.{k}" if where else k
        if dataclasses.is_dataclass(t):
            base = dataclasses.asdict(getattr(cls(), k))
            kwargs[k] = _build(t, _merge(base, v, path), path)
        elif t is float and isinstance(v, int) and not isinstance(v, bool):
            kwargs[k] = float(v)
        elif t in (int, float, str, bool) and not isinstance(v, t):
            raise ValueError(f"{path}: expected {t.__name__}, got {v!r}")
        else:
            kwargs[k] = v
    return cls(**kwargs)


def _merge(base, over, where):
    if not isinstance(over, dict):
        raise ValueError(f"{where}: expected a mapping, got {over!r}")
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v, f"{where}.{k}") if isinstance(out.get(k), dict) and isinstance(v, dict) else v
    return out


def raw_config(argv):
    """YAML files and --key=value overrides, applied left to right, as nested dicts."""
    cfg = {}
    for arg in argv:
        if arg.startswith("--"):
            key, _, val = arg[2:].partition("=")
            node = cfg
            *parents, leaf = key.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = yaml.safe_load(val) if val != "" else True
        else:
            with open(arg) as f:
                cfg = _merge(cfg, yaml.safe_load(f) or {}, arg)
    return cfg


def load_student(argv):
    return _build(StudentExperiment, raw_config(argv), "")


def load_teacher(argv):
    return _build(TeacherExperiment, raw_config(argv), "")


def as_dict(cfg):
    return dataclasses.asdict(cfg)
