"""The ResNet-50 timing bundle's manifest (make_timing_bundle.py), built without exporting the
graphs: schema v2, uniform rate points that fit the bottleneck, no accuracy claims."""
import math

import pytest

from bundle import validate_manifest
import make_timing_bundle as tb


def graphs():
    """The ports export_onnx gives the three graphs (dynamic batch first)."""
    def port(name, shape):
        return {"name": name, "shape": [-1, *shape], "dtype": "float32"}
    inp, feat, logits = port("input", tb.INPUT_SHAPE), port("features", tb.BOTTLENECK_SHAPE), port("logits", [tb.CLASSES])
    return {g: {"file": f"{g}.onnx", "sha256": "0" * 64, "inputs": [i], "outputs": [o]}
            for g, i, o in (("head", inp, feat), ("tail", feat, logits), ("full", inp, logits))}


@pytest.fixture
def manifest():
    m = tb.build_manifest({"head": 1, "tail": 2, "full": 3})
    m["graphs"] = graphs()
    m["provenance"].update(commit="", createdAt="2026-01-01T00:00:00Z")
    return m


def test_timing_manifest_matches_the_v2_schema(manifest):
    validate_manifest(manifest)
    assert manifest["schemaVersion"] == 2


def test_timing_manifest_has_uniform_rate_points_with_exact_sizes(manifest):
    b = manifest["bottleneck"]
    points = b["ratePoints"]
    assert [p["id"] for p in points] == ["u2", "u4", "u8"]
    assert points[b["defaultRatePoint"]]["id"] == "u8"
    values = math.prod(b["shape"])
    assert values == 12 * 28 * 28
    for p in points:
        # What protocol/manifest-check.ts and bottleneck/features.ts ask of a uniform rate point.
        assert p["codec"] == "uniform" and 1 <= p["bits"] <= 8
        assert len(p["min"]) == len(p["max"]) and len(p["min"]) in (1, b["shape"][0])
        assert all(lo < hi for lo, hi in zip(p["min"], p["max"]))
        # The head ends in a sigmoid: [0, 1] holds every value.
        assert (p["min"], p["max"]) == ([0.0], [1.0])
        exact = math.ceil(values * p["bits"] / 8)
        assert p["bytes"]["mean"] == p["bytes"]["p99"] == p["bytes"]["max"] == exact
    assert [p["bytes"]["max"] for p in points] == [2352, 4704, 9408]


def test_timing_manifest_makes_no_accuracy_claims(manifest):
    assert manifest["timingOnly"] is True
    assert manifest["provenance"]["weights"] == "random"
    assert "accuracy" not in manifest and "agreement" not in manifest
    assert all("accuracy" not in p for p in manifest["bottleneck"]["ratePoints"])
    assert manifest["exits"] == []
    assert len(manifest["labels"]) == tb.CLASSES
    assert manifest["outputs"] == [{"name": "logits", "kind": "class-logits"}]
    assert manifest["input"]["raw"] == {"dtype": "uint8", "shape": [3, 224, 224], "layout": "CHW"}
