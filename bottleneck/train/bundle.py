"""Writes Offramp bundles: ONNX export of head / tail / full, entropy tables, golden fixtures and
manifest.json. The manifest is validated against protocol/manifest.schema.json (generated from the
TypeScript schema, protocol/manifest.ts) before it is written, and the bundle folder is written
atomically (a temporary folder renamed into place). Shared by the training pipeline and the
test-bundle script."""
import datetime
import hashlib
import json
import os
import shutil
import subprocess

import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCHEMA = os.path.join(ROOT, "protocol", "manifest.schema.json")
ONNX_DTYPES = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.UINT8: "uint8", onnx.TensorProto.INT64: "int64",
               onnx.TensorProto.INT32: "int32", onnx.TensorProto.FLOAT16: "float16", onnx.TensorProto.INT8: "int8",
               onnx.TensorProto.BOOL: "bool"}


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    with open(path, "rb") as f:
        return sha256_bytes(f.read())


def export_onnx(module, example, path, input_names, output_names, opset=13):
    """Exports `module` with a dynamic batch dimension named 'batch' on every port."""
    module.eval()
    axes = {name: {0: "batch"} for name in input_names + output_names}
    torch.onnx.export(module, example, path, input_names=input_names, output_names=output_names,
                      dynamic_axes=axes, opset_version=opset, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def _ports(values):
    out = []
    for v in values:
        t = v.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
        out.append({"name": v.name, "shape": dims, "dtype": ONNX_DTYPES[t.elem_type]})
    return out


def graph_spec(path):
    """The manifest's description of one ONNX file: name, sha256, ports as the file declares them."""
    model = onnx.load(path)
    init = {i.name for i in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in init]
    return {"file": os.path.basename(path), "sha256": sha256_file(path),
            "inputs": _ports(inputs), "outputs": _ports(model.graph.output)}


def git_commit():
    try:
        return subprocess.check_output(["git", "rev-parse", "HEAD"], stderr=subprocess.DEVNULL, text=True, cwd=ROOT).strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def count_macs(module, example):
    """Multiply-accumulates of one forward pass per sample (Conv2d, ConvTranspose2d and Linear layers)."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, torch.nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
            total[0] += out[0].numel() * k
        elif isinstance(m, torch.nn.ConvTranspose2d):  # every input pixel scatters a k x k x out block
            k = m.kernel_size[0] * m.kernel_size[1] * (m.out_channels // m.groups)
            total[0] += inp[0][0].numel() * k
        elif isinstance(m, torch.nn.Linear):
            total[0] += m.in_features * m.out_features

    handles = [m.register_forward_hook(hook) for m in module.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear))]
    with torch.no_grad():
        module.eval()
        module(example[:1])
    for h in handles:
        h.remove()
    return total[0]


def calibrate_exit(exit_probs, exit_pred, split_pred, labels, thresholds, max_loss=0.005):
    """Threshold table for one exit (computed on the validation split) and the recommended
    threshold: the lowest one whose overall accuracy stays within `max_loss` of the split model."""
    split_acc = (split_pred == labels).float().mean().item()
    conf = exit_probs.max(1).values
    rows = []
    for t in thresholds:
        take = conf >= t
        final = torch.where(take, exit_pred, split_pred)
        n = int(take.sum())
        rows.append({
            "threshold": t,
            "exitRate": n / len(labels),
            "exitAccuracy": (exit_pred[take] == labels[take]).float().mean().item() if n else 1.0,
            "overallAccuracy": (final == labels).float().mean().item(),
        })
    ok = [r["threshold"] for r in rows if r["overallAccuracy"] >= split_acc - max_loss]
    return rows, (min(ok) if ok else thresholds[-1])


def write_json_file(out_dir, name, obj):
    """Writes `obj` as compact JSON; returns the {file, sha256} reference the manifest uses."""
    data = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
    with open(os.path.join(out_dir, name), "wb") as f:
        f.write(data)
    return {"file": name, "sha256": sha256_bytes(data)}


def validate_manifest(manifest):
    """Checks the manifest against protocol/manifest.schema.json; raises ValueError listing the problems."""
    import jsonschema  # Debian's python3-jsonschema
    with open(SCHEMA) as f:
        schema = json.load(f)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(manifest), key=lambda e: list(e.path))
    if errors:
        raise ValueError("manifest does not match protocol/manifest.schema.json:\n  " + "\n  ".join(
            f"{'.'.join(str(p) for p in e.path) or '(root)'}: {e.message}" for e in errors[:20]))


def write_manifest(out_dir, manifest):
    """Adds hashes and ports of the three graphs, validates, and writes manifest.json."""
    manifest["graphs"] = {g: graph_spec(os.path.join(out_dir, f"{g}.onnx")) for g in ("head", "tail", "full")}
    manifest.setdefault("provenance", {})
    manifest["provenance"].setdefault("commit", git_commit())
    manifest["provenance"].setdefault("createdAt", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    validate_manifest(manifest)
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


class AtomicBundleDir:
    """A temporary folder beside `final`, renamed over it when the block ends without an error
    (removed otherwise): a failed export never leaves a half-written bundle."""

    def __init__(self, final):
        self.final = os.path.abspath(final)
        self.tmp = self.final + f".tmp-{os.getpid()}"

    def __enter__(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        os.makedirs(self.tmp)
        return self.tmp

    def __exit__(self, kind, value, tb):
        if kind is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        old = self.final + f".old-{os.getpid()}"
        if os.path.exists(self.final):
            os.replace(self.final, old)
        os.replace(self.tmp, self.final)
        shutil.rmtree(old, ignore_errors=True)
        return False
