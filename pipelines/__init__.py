"""Action100M corpus pipeline: explode, validate and summarise the nested release rows.

The public Python API is `Lake` and the result types of its methods (pipelines/api.py,
docs/api.md): `from pipelines import Lake`. They are imported on first use: `import pipelines`,
which every `a100m` command does (--help and snapshot included), loads neither Spark nor Great
Expectations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# pipelines/api.py's __all__ (tests/test_api.py checks that the two agree).
__all__ = [
    "ExplodeResult",
    "Lake",
    "OptimizeResult",
    "PipelineResult",
    "Query",
    "QueryResult",
    "Registration",
    "ReportResult",
    "ResampleResult",
    "ShowResult",
    "StatsResult",
    "TrainsetResult",
    "ValidationResult",
    "__version__",
    "evaluate",
]

if TYPE_CHECKING:  # type checkers and editors see the classes; at run time __getattr__ loads them
    from pipelines.api import (
        ExplodeResult,
        Lake,
        OptimizeResult,
        PipelineResult,
        Query,
        QueryResult,
        Registration,
        ReportResult,
        ResampleResult,
        ShowResult,
        StatsResult,
        TrainsetResult,
        ValidationResult,
        evaluate,
    )


def __getattr__(name: str) -> Any:
    """A name of the API, imported on first use (PEP 562)."""
    if name in __all__ and name != "__version__":
        from pipelines import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
