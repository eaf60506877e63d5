"""The Action100M release schema, exactly as released, in pyarrow types (docs/data.md).

Kept apart from the Spark contracts so that the generator and other pyarrow-only code can use it
without importing pyspark.
"""

from __future__ import annotations

import pyarrow as pa

TRANSCRIPT_LINE = pa.struct([("time", pa.string()), ("text", pa.string())])

METADATA = pa.struct(
    [
        ("title", pa.string()),
        ("description", pa.string()),
        ("view_count", pa.int64()),
        ("like_count", pa.int64()),
        ("duration", pa.int64()),
        ("upload_date", pa.string()),
        ("transcript", pa.list_(TRANSCRIPT_LINE)),
    ]
)

GPT = pa.struct(
    [
        ("summary", pa.struct([("brief", pa.string()), ("detailed", pa.string())])),
        (
            "action",
            pa.struct([("brief", pa.string()), ("detailed", pa.string()), ("actor", pa.string())]),
        ),
    ]
)

NODE = pa.struct(
    [
        ("node_id", pa.string()),
        ("parent_id", pa.string()),
        ("level", pa.int16()),
        ("start", pa.float32()),
        ("end", pa.float32()),
        ("plm_action", pa.string()),
        ("plm_caption", pa.string()),
        ("llama3_caption", pa.string()),
        ("gpt", GPT),
    ]
)

RAW_ARROW_SCHEMA = pa.schema(
    [("video_uid", pa.string()), ("metadata", METADATA), ("nodes", pa.list_(NODE))]
)

# Domain constants the release defines, shared by the generator, the flatten and the checks.
NOT_AVAILABLE = "N/A"  # gpt.action.* of a segment with no action (compared exactly)
GPT_MIN_SECONDS = 4.0  # gpt is present exactly on internal nodes lasting at least this
