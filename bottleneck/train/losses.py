"""The training objective of the entropic student: distortion (distillation from the teacher's
logits and stage-2 features, plus the labels) + lambda * rate."""
import torch.nn.functional as F


def kd_loss(student_logits, teacher_logits, temperature):
    """Hinton et al.'s distillation term, scaled by T^2 so its gradient does not shrink with T."""
    t = temperature
    return F.kl_div(F.log_softmax(student_logits / t, 1), F.softmax(teacher_logits / t, 1), reduction="batchmean") * t * t


def classification_loss(logits, teacher_logits, labels, temperature, alpha):
    """alpha * KD + (1 - alpha) * cross-entropy."""
    return kd_loss(logits, teacher_logits, temperature) * alpha + F.cross_entropy(logits, labels) * (1 - alpha)


def feature_loss(decoded, teacher_features):
    """MSE against the teacher's features, relative to their mean square (scale-free)."""
    return F.mse_loss(decoded, teacher_features) / teacher_features.pow(2).mean().clamp_min(1e-8)


def rate_bytes(prior, y_noisy):
    """Mean estimated bytes per sample of the noisy latent under the prior (the rate term)."""
    return prior.bits(y_noisy).mean() / 8
