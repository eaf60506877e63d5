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

The readers that are not on PyPI are vendored, unmodified, under tests/third_party/ (each folder's
README.md names the repository, commit, path and licence): 2D-TAN's Charades-STA dataset
(`lib/datasets/charades.py`), PDVC's dense-caption dataset (`data/video_dataset.py`) and
evaluator (`densevid_eval3/evaluate2018.py`), and Moment-DETR's QVHighlights evaluator
(`standalone_eval/eval.py`, `utils.py`). Their files import what the project does not install
(torch, torchtext, h5py, scikit-learn, pycocoevalcap) for code the tests never reach, so, as for
ActionFormer's `_load_json_db`, only the functions, classes and methods the tests call are
compiled from the source text, under the file's own name (tracebacks point into it).
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


# --- vendored readers (tests/third_party) -------------------------------------------------------

THIRD_PARTY = Path(__file__).resolve().parent / "third_party"


def _definitions(path: Path, names: set[str], scope: dict) -> dict:
    """Compile the top-level imports of the file that the scope does not already provide (the
    standard library and numpy only) and the named top-level functions and classes, as written
    there, into scope; the file's other statements are never run."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    body = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name in names:
            body.append(node)
        elif isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0):
            roots = {(getattr(node, "module", None) or a.name).split(".")[0] for a in node.names}
            if roots <= {*sys.stdlib_module_names, "numpy"}:
                body.append(node)
    missing = names - {n.name for n in body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    assert not missing, (path, missing)
    scope.setdefault("__name__", f"third_party.{path.stem}")
    exec(compile(ast.Module(body=body, type_ignores=[]), str(path), "exec"), scope)
    return scope


def _methods(path: Path, klass: str, names: set[str], scope: dict) -> dict:
    """The named methods of a class of the file, compiled alone (the class body, which may
    build torch objects, is never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == klass)
    chosen = [n for n in node.body if isinstance(n, ast.FunctionDef) and n.name in names]
    assert {n.name for n in chosen} == names, (path, klass, names)
    found: dict = {}
    exec(compile(ast.Module(body=chosen, type_ignores=[]), str(path), "exec"), scope, found)
    return found


def two_d_tan_charades(data_dir: Path, split: str):
    """2D-TAN's Charades(split) as its __init__ builds it: the durations from
    Charades_v1_{split}.csv, the annotations from charades_sta_{split}.txt in DATA_DIR. The
    class body (GloVe vectors through torchtext) and the feature reading are never run."""
    path = THIRD_PARTY / "2d-tan" / "lib" / "datasets" / "charades.py"
    config = types.SimpleNamespace(
        DATA_DIR=str(data_dir), DATASET=types.SimpleNamespace(VIS_INPUT_TYPE="vgg")
    )
    scope = {"os": os, "csv": __import__("csv"), "config": config}
    charades = type("Charades", (), _methods(path, "Charades", {"__init__", "__len__"}, scope))
    scope["Charades"] = charades  # its super(Charades, self).__init__() is object's
    return charades(split)


@cache
def pdvc_video_dataset() -> dict:
    """PDVC's data/video_dataset.py: Translator, the feature readers, and the dataset classes
    EDVCdataset / PropSeqDataset rebuilt from their own methods over `object` instead of
    torch's Dataset (whose base does nothing they use)."""
    path = THIRD_PARTY / "pdvc" / "data" / "video_dataset.py"
    scope = _definitions(path, {"Translator", "read_file", "get_feats", "resizeFeature"}, {})
    base = _methods(path, "EDVCdataset", {"__init__", "__len__", "process_time_step"}, scope)
    scope["EDVCdataset"] = type("EDVCdataset", (), base)
    own = _methods(path, "PropSeqDataset", {"__init__", "load_feats", "__getitem__"}, scope)
    scope["PropSeqDataset"] = type("PropSeqDataset", (scope["EDVCdataset"],), own)
    return scope


@cache
def pdvc_evaluate2018() -> dict:
    """PDVC's densevid_eval3/evaluate2018.py without its caption scorers (pycocoevalcap, which
    `no_lang_eval` never calls): ANETcaptions and main, whose scores are Recall and Precision."""
    path = THIRD_PARTY / "pdvc" / "densevid_eval3" / "evaluate2018.py"
    return _definitions(path, {"remove_nonascii", "ANETcaptions", "main"}, {"Set": set})


@cache
def qvhighlights_eval() -> types.ModuleType:
    """Moment-DETR's standalone_eval/eval.py, the QVHighlights evaluator, run as it is; its
    `from standalone_eval.utils import ...` gets utils.py's functions without its scikit-learn
    import, which only get_ap (highlight detection, never called for moments) uses."""
    folder = THIRD_PARTY / "moment_detr" / "standalone_eval"
    utils = types.ModuleType("standalone_eval.utils")
    utils.__file__ = str(folder / "utils.py")
    names = {
        "load_jsonl", "compute_temporal_iou_batch_paired", "compute_temporal_iou_batch_cross",
        "interpolated_precision_recall", "compute_average_precision_detection", "get_ap",
    }  # fmt: skip
    _definitions(folder / "utils.py", names, utils.__dict__)
    package = types.ModuleType("standalone_eval")
    package.__path__ = [str(folder)]
    package.utils = utils
    module = types.ModuleType("standalone_eval.eval")
    module.__file__ = str(folder / "eval.py")
    saved = {k: sys.modules.get(k) for k in ("standalone_eval", "standalone_eval.utils")}
    sys.modules.update({"standalone_eval": package, "standalone_eval.utils": utils})
    try:
        source = (folder / "eval.py").read_text(encoding="utf-8")
        exec(compile(source, module.__file__, "exec"), module.__dict__)
    finally:
        for key, value in saved.items():
            if value is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = value
    return module
