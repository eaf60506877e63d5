"""Inputs on the Hugging Face hub: `hf://datasets/<owner>/<name>[@revision]/<glob>`.

The matching shards are listed with huggingface_hub, the first N kept (`--limit-shards`), those the
ingest log already holds dropped without fetching, and the rest downloaded into a staging folder
(`<staging>/<owner>/<name>/<path in the repo>`) with the hub client's resume and its per-folder
metadata cache, so that a second fetch of an unchanged shard is a no-op. The staged files are then
ingested like any local file, so the ingest log, provenance and quarantine work as for local files.

HF_TOKEN (gated or private repositories), HF_ENDPOINT (a mirror) and HF_HUB_OFFLINE (use only what
is staged: no network at all) are read by huggingface_hub itself. Every failure is one line that
says what to do, raised before anything is written to the lake.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from pipelines.core.errors import HubError

HF_SCHEME = "hf://"
_HF_URI = re.compile(
    r"^hf://datasets/(?P<owner>[^/@]+)/(?P<name>[^/@]+)(?:@(?P<rev>[^/]+))?/(?P<glob>.+)$"
)


@dataclass(frozen=True)
class HubInput:
    """A parsed hf:// input."""

    uri: str
    repo_id: str
    revision: str | None
    glob: str

    @property
    def label(self) -> str:
        return f"{self.repo_id}@{self.revision}" if self.revision else self.repo_id


@dataclass(frozen=True)
class HubShard:
    path: str  # path in the repository
    size_bytes: int
    staged: Path  # where it is (or will be) staged


def is_hub_input(given: str) -> bool:
    return given.startswith(HF_SCHEME)


def parse_hub_input(given: str) -> HubInput:
    """Split hf://datasets/<owner>/<name>[@revision]/<glob>; the revision may be URL-encoded
    (refs%2Fconvert%2Fparquet)."""
    match = _HF_URI.match(given)
    if not match:
        raise HubError(
            f"{given}: expected hf://datasets/<owner>/<name>[@revision]/<glob>, "
            "for example hf://datasets/facebook/action100m-preview/data/*.parquet"
        )
    rev = match["rev"]
    return HubInput(
        uri=given,
        repo_id=f"{match['owner']}/{match['name']}",
        revision=unquote(rev) if rev else None,
        glob=match["glob"].strip("/"),
    )


def glob_pattern(glob: str) -> re.Pattern[str]:
    """The hub's glob rules: `*` and `?` stay within one folder, `**` crosses folders."""
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _listing_root(glob: str) -> str | None:
    """The folder before the first wildcard: the only part of the tree that needs listing."""
    fixed = re.split(r"[*?\[]", glob, maxsplit=1)[0]
    folder = fixed.rsplit("/", 1)[0] if "/" in fixed else ""
    return folder or None


def staging_folder(staging: str | Path, hub_input: HubInput) -> Path:
    return Path(staging).absolute() / hub_input.repo_id


def offline() -> bool:
    """HF_HUB_OFFLINE, read now (the hub client reads it once, when first imported)."""
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().upper()
    return flag in ("1", "ON", "YES", "TRUE") or bool(constants.HF_HUB_OFFLINE)


def endpoint() -> str:
    """HF_ENDPOINT (a mirror), read now, else the client's default (https://huggingface.co)."""
    from huggingface_hub import constants

    return os.environ.get("HF_ENDPOINT", "").rstrip("/") or constants.ENDPOINT


def list_shards(hub_input: HubInput, staging: str | Path) -> list[HubShard]:
    """The files matching the glob, sorted by path: from the hub, or (offline) from staging."""
    folder = staging_folder(staging, hub_input)
    pattern = glob_pattern(hub_input.glob)
    if offline():
        found = (
            sorted(
                (p.relative_to(folder).as_posix(), p.stat().st_size)
                for p in folder.rglob("*")
                if p.is_file() and ".cache" not in p.relative_to(folder).parts
            )
            if folder.is_dir()
            else []
        )
        shards = [
            HubShard(path, size, folder / path) for path, size in found if pattern.match(path)
        ]
        if not shards:
            raise HubError(
                f"{hub_input.uri}: HF_HUB_OFFLINE is set and no shard matching {hub_input.glob!r} "
                f"is staged in {folder}: unset HF_HUB_OFFLINE to fetch them from the hub"
            )
        return shards

    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile

    with _hub_errors(hub_input, folder):
        entries = HfApi(endpoint=endpoint()).list_repo_tree(
            hub_input.repo_id,
            path_in_repo=_listing_root(hub_input.glob),
            recursive=True,
            repo_type="dataset",
            revision=hub_input.revision,
        )
        files = [e for e in entries if isinstance(e, RepoFile)]
    shards = sorted(
        (HubShard(f.path, int(f.size), folder / f.path) for f in files if pattern.match(f.path)),
        key=lambda s: s.path,
    )
    if not shards:
        seen = ", ".join(sorted(f.path for f in files)[:5]) or "none"
        raise HubError(
            f"{hub_input.uri}: no file in {hub_input.label} matches {hub_input.glob!r} "
            f"(files there include: {seen}): check the glob"
        )
    return shards


def fetch(hub_input: HubInput, shard: HubShard, staging: str | Path) -> Path:
    """Download one shard into staging (resumed if a previous download stopped half way)."""
    from huggingface_hub import hf_hub_download

    folder = staging_folder(staging, hub_input)
    with _hub_errors(hub_input, folder):
        return Path(
            hf_hub_download(
                hub_input.repo_id,
                shard.path,
                repo_type="dataset",
                revision=hub_input.revision,
                local_dir=folder,
                endpoint=endpoint(),
            )
        )


@contextmanager
def _hub_errors(hub_input: HubInput, folder: Path) -> Iterator[None]:
    """Turn the hub client's exceptions into one line that says what to do."""
    try:
        yield
    except HubError:
        raise
    except Exception as exc:
        message = _explain(exc, hub_input, folder)
        if message is None:
            raise
        raise HubError(message) from exc


def _explain(exc: BaseException, hub_input: HubInput, folder: Path) -> str | None:
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"{hub_input.uri}:"
    hub_url = endpoint()
    repo_page = f"{hub_url}/datasets/{hub_input.repo_id}"
    token_set = bool(os.environ.get("HF_TOKEN"))
    if isinstance(exc, GatedRepoError):
        return (
            f"{where} {hub_input.repo_id} is gated: accept its terms at {repo_page} and set "
            "HF_TOKEN to a token of that account"
            + (" (the HF_TOKEN given has no access)" if token_set else "")
        )
    if isinstance(exc, RepositoryNotFoundError):
        hint = (
            "check the name, or that HF_TOKEN can read it"
            if token_set
            else "check the name, or set HF_TOKEN if the dataset is private"
        )
        return f"{where} no dataset {hub_input.repo_id} on {hub_url}: {hint}"
    if isinstance(exc, RevisionNotFoundError):
        return f"{where} {hub_input.repo_id} has no revision {hub_input.revision!r}: check the @revision"
    if isinstance(exc, OfflineModeIsEnabled):
        return f"{where} HF_HUB_OFFLINE is set: unset it to fetch, or stage the shards in {folder}"
    if isinstance(exc, HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            return (
                f"{where} the hub refused access ({status}): set HF_TOKEN to a token that can "
                f"read {hub_input.repo_id}"
            )
        return f"{where} the hub answered {status}: {str(exc).splitlines()[0]}"
    if _is_network_error(exc):
        return (
            f"{where} cannot reach {hub_url} ({type(exc).__name__}): check the "
            f"network or HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use the shards staged in {folder}"
        )
    return None


def _is_network_error(exc: BaseException) -> bool:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return True
        module = type(exc).__module__ or ""
        if module.startswith(("httpx", "httpcore", "requests", "urllib3")) and any(
            word in type(exc).__name__ for word in ("Connect", "Timeout", "Network", "Proxy")
        ):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def stage_hub_input(
    given: str,
    staging: str | Path,
    limit_shards: int | None,
    ingested: dict[str, int],
) -> tuple[list[str], list[str]]:
    """Fetch the shards of one hf:// input that the lake does not hold yet.

    ingested maps the URI of every file in the ingest log to its size. Returns (paths to ingest,
    paths skipped as already ingested); skipped shards are not downloaded.
    """
    hub_input = parse_hub_input(given)
    shards = list_shards(hub_input, staging)
    if limit_shards is not None:
        shards = shards[:limit_shards]
    todo, skipped = [], []
    for shard in shards:
        if ingested.get(staged_uri(shard.staged)) == shard.size_bytes:
            skipped.append(str(shard.staged))
        else:
            todo.append(str(fetch(hub_input, shard, staging) if not offline() else shard.staged))
    return todo, skipped


def staged_uri(path: Path) -> str:
    """The URI Hadoop's local file system gives the staged file (the ingest log's key)."""
    return "file:" + str(path.absolute())
