"""The bundle writer: a manifest that breaks the schema is refused before anything is written,
and a failed export leaves no half-written folder."""
import json
import os

import pytest

from bundle import AtomicBundleDir, SCHEMA, validate_manifest, write_json_file


def test_the_schema_refuses_a_bad_manifest_with_the_path():
    assert os.path.exists(SCHEMA)
    with pytest.raises(ValueError, match="schemaVersion"):
        validate_manifest({"schemaVersion": 1})


def test_atomic_bundle_dir(tmp_path):
    final = tmp_path / "b"
    with AtomicBundleDir(str(final)) as d:
        ref = write_json_file(d, "t.json", {"a": 1})
    assert ref["file"] == "t.json" and len(ref["sha256"]) == 64
    assert json.loads((final / "t.json").read_text()) == {"a": 1}
    with pytest.raises(RuntimeError):
        with AtomicBundleDir(str(final)) as d:
            write_json_file(d, "t.json", {"a": 2})
            raise RuntimeError("export failed")
    assert json.loads((final / "t.json").read_text()) == {"a": 1}  # the old bundle stays whole
    assert sorted(os.listdir(tmp_path)) == ["b"]
