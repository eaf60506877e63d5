"""A local stand-in for the Hugging Face hub's HTTP API, serving dataset files from folders.

Enough of the API for huggingface_hub's list_repo_tree and hf_hub_download (HEAD for metadata,
GET with Range for resumed downloads), so that tests run the real hub client without a network:
point HF_ENDPOINT at `HubServer.url`. Every request is recorded, so tests can assert what was
fetched.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class HubServer:
    """Serves repos: repo_id -> local folder whose files are the repository's files."""

    repos: dict[str, Path]
    gated: set[str] = field(default_factory=set)  # need "Authorization: Bearer <token>"
    token: str = "hf_test_token"
    requests: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def downloads(self) -> list[str]:
        """Paths of the files whose bytes were sent (GET on resolve/)."""
        return [p.split("/resolve/", 1)[1].split("/", 1)[1] for m, p in self.requests
                if m == "GET" and "/resolve/" in p]  # fmt: skip

    def __enter__(self) -> HubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                url = urlparse(self.path)
                path = unquote(url.path)
                hub.requests.append((self.command, path))
                tree = re.match(r"^/api/datasets/([^/]+/[^/]+)/tree/([^/]+)(?:/(.*))?$", path)
                info = re.match(r"^/api/datasets/([^/]+/[^/]+)(?:/revision/([^/]+))?$", path)
                resolve = re.match(r"^/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
                match = tree or resolve or info
                if match is None:
                    return self._error(404, "EntryNotFound", f"no route {path}")
                repo = match.group(1)
                if repo not in hub.repos:
                    return self._error(404, "RepoNotFound", f"Repository {repo} not found")
                if repo in hub.gated and self.headers.get("Authorization") != f"Bearer {hub.token}":
                    return self._error(401, "GatedRepo", f"Access to dataset {repo} is restricted")
                if match.group(2) not in (None, "main", COMMIT):
                    return self._error(404, "RevisionNotFound", f"Invalid rev id: {match.group(2)}")
                root = hub.repos[repo]
                if tree:
                    recursive = parse_qs(url.query).get("recursive", ["false"])[0] == "true"
                    return self._json(self._tree(root, tree.group(3) or "", recursive))
                if resolve:
                    return self._file(root / resolve.group(3), body)
                return self._json({"id": repo, "sha": COMMIT, "private": False})

            def _tree(self, root: Path, folder: str, recursive: bool) -> list[dict]:
                base = root / folder
                if not base.is_dir():
                    return []
                found = base.rglob("*") if recursive else base.iterdir()
                entries = []
                for item in sorted(found):
                    rel = item.relative_to(root).as_posix()
                    if item.is_dir():
                        entries.append(
                            {"type": "directory", "oid": _oid(rel.encode()), "path": rel}
                        )
                    else:
                        data = item.read_bytes()
                        entries.append(
                            {
                                "type": "file",
                                "oid": _oid(data),
                                "size": len(data),
                                "path": rel,
                                "lfs": {
                                    "oid": hashlib.sha256(data).hexdigest(),
                                    "size": len(data),
                                    "pointerSize": 130,
                                },
                            }  # fmt: skip
                        )
                return entries

            def _file(self, file: Path, body: bool) -> None:
                if not file.is_file():
                    return self._error(404, "EntryNotFound", f"{file.name} does not exist")
                data = file.read_bytes()
                start = 0
                ranged = re.match(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if ranged and body:
                    start = int(ranged.group(1))
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data) - start))
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if body:
                    self.wfile.write(data[start:])

            def _json(self, payload) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _error(self, status: int, code: str, message: str) -> None:
                data = json.dumps({"error": message}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Error-Code", code)
                self.send_header("X-Error-Message", message)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

        return Handler


def _oid(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()
