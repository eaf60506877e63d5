"""Third-party readers and evaluators that the export tests run on our files.

ActionFormer (`actionformer` on PyPI, MIT licence, University of Wisconsin-Madison): its
ActivityNet ground-truth loader (`load_gt_seg_from_json`), its evaluator (`ANETdetection`,
adapted from the ActivityNet evaluation toolkit) and its dataset's `_load_json_db` (the label
dict and the `num_classes` assert). The package's install requires PyTorch (and building it
requires PyTorch too), which the project does not install, so the tests fetch its source
distribution from PyPI with pip (pinned by version and sha256), never build or install it, and run two of
its files as they are: `actionformer/utils/metrics.py` as a module (it needs numpy, pandas and
joblib only) and, from `actionformer/datasets/anet.py`, the method `_load_json_db` alone (the
file imports torch for its Dataset class, which the method never touches).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tarfile
import types
from functools import cache
from pathlib import Path

import numpy as np
import pytest

ACTIONFORMER = "actionformer==1.5.0"
ACTIONFORMER_SHA256 = "6c8890027c6d5d485dbad2608aee6141985d410fa8402e6269835d9c62e503b2"
ACTIONFORMER_SDIST = "actionformer-1.5.0.tar.gz"
# beside the virtual environment, so that one download serves every run of the tests there
CACHE = Path(sys.prefix) / "a100m-test-readers"


def _unavailable(why: str):
    """Fail under CI (the readers must run there), skip elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


@cache
def _actionformer_sdist() -> Path:
    archive = CACHE / ACTIONFORMER_SDIST
    if archive.is_file():
        return archive
    CACHE.mkdir(parents=True, exist_ok=True)
    pins = CACHE / "requirements.txt"
    pins.write_text(f"{ACTIONFORMER} --hash=sha256:{ACTIONFORMER_SHA256}\n")
    done = subprocess.run(
        # no build isolation: pip would install the build requirements (PyTorch) to read the
        # metadata; setup.py skips its torch extension when torch is missing
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-build-isolation",
         "--require-hashes", "-r", str(pins), "-d", str(CACHE), "-q"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if done.returncode or not archive.is_file():
        _unavailable(f"pip download {ACTIONFORMER} failed: {done.stderr.strip()[-300:]}")
    return archive


def _source(member: str) -> tuple[str, str]:
    with tarfile.open(_actionformer_sdist()) as archive:
        name = f"actionformer-1.5.0/{member}"
        return archive.extractfile(name).read().decode("utf-8"), name


@cache
def actionformer_metrics() -> types.ModuleType:
    """actionformer/utils/metrics.py, run as it is."""
    source, name = _source("actionformer/utils/metrics.py")
    module = types.ModuleType("actionformer_metrics")
    module.__file__ = name
    exec(compile(source, name, "exec"), module.__dict__)
    return module


@cache
def actionformer_load_json_db():
    """ActivityNetDataset._load_json_db from actionformer/datasets/anet.py, compiled alone."""
    source, name = _source("actionformer/datasets/anet.py")
    tree = ast.parse(source)
    klass = next(
        n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ActivityNetDataset"
    )
    method = next(
        n for n in klass.body if isinstance(n, ast.FunctionDef) and n.name == "_load_json_db"
    )
    scope = {
        "json": json,
        "np": np,
        "remove_duplicate_annotations": actionformer_metrics().remove_duplicate_annotations,
    }
    exec(compile(ast.Module(body=[method], type_ignores=[]), name, "exec"), scope)
    return scope["_load_json_db"]


def actionformer_dataset(json_file: Path, split: tuple[str, ...], num_classes: int, fps=None):
    """What ActionFormer's ActivityNetDataset.__init__ does with the file: load it, then
    assert that the labels number num_classes. Returns (data_list, label_dict)."""
    owner = types.SimpleNamespace(
        label_dict=None, split=split, default_fps=fps, num_classes=num_classes
    )
    data_list, label_dict = actionformer_load_json_db()(owner, str(json_file))
    assert (num_classes == 1) or (len(label_dict) == num_classes)  # ActionFormer's own assert
    return data_list, label_dict
