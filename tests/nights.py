"""Nightly inputs for the report tests: small generated corpora, one of them damaged the way a bad
night looks (more "N/A" actions, longer segments, a broken tree), and a webhook receiver."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.core.raw import NOT_AVAILABLE, RAW_ARROW_SCHEMA
from pipelines.synth.faults import inject, replace_rows

NA_SHARE = 0.6  # of the annotated nodes whose action becomes "N/A" on the damaged night
TIME_FACTOR = 4.0  # every segment of the damaged night lasts this many times longer
BROKEN_KIND = "sibling_gap"  # the broken tree: a gap between two siblings (tree.tiles_parent)


def shard_of(folder: Path) -> Path:
    return next(folder.glob("*.parquet"))


def damage(folder: Path, seed: int) -> str:
    """Damage the night's shard in place; return the video whose tree is broken."""
    path = shard_of(folder)
    rows = pq.read_table(path).to_pylist()
    rng = np.random.default_rng(seed)
    for row in rows:
        row["metadata"]["duration"] = int(row["metadata"]["duration"] * TIME_FACTOR)
        some_gpt = next(n["gpt"] for n in row["nodes"] if n["gpt"] is not None)
        children = {n["parent_id"] for n in row["nodes"]}
        for node in row["nodes"]:
            node["start"] = float(np.float32(node["start"]) * np.float32(TIME_FACTOR))
            node["end"] = float(np.float32(node["end"]) * np.float32(TIME_FACTOR))
            internal = node["node_id"] in children
            # longer segments: internal nodes now >= 4 s carry a gpt annotation, as the rule wants
            if internal and node["gpt"] is None and node["end"] - node["start"] >= 4.0:
                node["gpt"] = json.loads(json.dumps(some_gpt))
            action = (node["gpt"] or {}).get("action")
            if action is not None and rng.random() < NA_SHARE:
                action.update(brief=NOT_AVAILABLE, detailed=NOT_AVAILABLE, actor=NOT_AVAILABLE)
    table = pa.Table.from_pylist(rows, schema=RAW_ARROW_SCHEMA)
    broken = inject(table, 0, BROKEN_KIND, rng)
    assert broken is not None, "the generator's first video has no place for a sibling gap"
    table = replace_rows(table, {0: broken[0]})
    pq.write_table(table, path)
    return rows[0]["video_uid"]


class Webhook:
    """A real HTTP server on 127.0.0.1 that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/B000/secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
