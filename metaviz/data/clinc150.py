"""CLINC150 on disk: find (or, for users who are online, download and verify) the intent data set.

Larson et al. (2019), *An Evaluation Dataset for Intent Classification and Out-of-Scope Prediction*,
EMNLP-IJCNLP; data from https://github.com/clinc/oos-eval (CC BY 3.0). ``data_full.json`` holds 150
intents with 100 train, 20 validation and 30 test utterances each (``[text, intent]`` pairs) and the
out-of-scope utterances; ``domains.json`` groups the intents into 10 domains.

Files are looked for in ``data_dir``, ``$METAVIZ_DATA`` (or its ``clinc150/`` folder), the repository's
``../shared/data/clinc150`` and ``~/.cache/metaviz/clinc150``, in that order. Tests never download.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

from metaviz.data.omniglot import REPO_ROOT, RemoteFile, _download

# Pinned to the commit the digests were taken from (828f809, the head of master on 2026-12-03, where
# data/data_full.json is 2,495,390 bytes): a later push to master cannot make a correct file look corrupt.
COMMIT = "828f8093932c8fe6ca7936c3d2e52903b1c523de"
_BASE = f"https://raw.githubusercontent.com/clinc/oos-eval/{COMMIT}/data"
FILES: dict[str, RemoteFile] = {  # sha256 of that commit's files, as ../shared/data/README.md gives them
    "data_full.json": RemoteFile(f"{_BASE}/data_full.json", "sha256",
                                 "36923c3705a59e08fe9c3883d8bc2dd966ef93e22cb78ac41171782a698d56e0"),
    "domains.json": RemoteFile(f"{_BASE}/domains.json", "sha256",
                               "b947b579d3b8e74b06f93b01083d8efaff2888b43a3e362533bd88a6e1211b3a"),
}
SHARED_DIR = REPO_ROOT.parent / "shared" / "data" / "clinc150"
CACHE_DIR = Path("~/.cache/metaviz/clinc150")


def search_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    dirs = [Path(data_dir).expanduser()] if data_dir else []
    if os.environ.get("METAVIZ_DATA"):
        env = Path(os.environ["METAVIZ_DATA"]).expanduser()
        dirs += [env, env / "clinc150"]
    dirs += [SHARED_DIR, CACHE_DIR.expanduser()]
    return list(dict.fromkeys(dirs))


def find_or_download(file: str, data_dir: str | os.PathLike | None = None, download: bool = False) -> Path:
    """Path of ``file`` ("data_full.json" or "domains.json"); when absent and ``download`` is true, fetched
    from the public repository into ``data_dir`` (or the cache) and kept only if its SHA-256 matches."""
    if file not in FILES:
        raise ValueError(f"unknown CLINC150 file {file!r}; known: {sorted(FILES)}")
    dirs = search_dirs(data_dir)
    for d in dirs:
        if (d / file).is_file():
            return d / file
    target = Path(data_dir).expanduser() if data_dir else CACHE_DIR.expanduser()
    if download:
        return _download(FILES[file], target / file)
    raise FileNotFoundError(
        f"CLINC150 file {file} not found in: {', '.join(map(str, dirs))}. Put {file} into {target} (or pass "
        f"data_dir=..., or set METAVIZ_DATA), download it from {FILES[file].url}, or let MetaViz fetch and "
        f"verify it: metaviz.data.clinc150.find_or_download({file!r}, download=True).")


@dataclass(frozen=True, eq=False)
class Clinc:
    """intents[i] (sorted names), domain_of[intent], utterances[part][intent] -> texts (part: train, val,
    test), oos[part] -> out-of-scope texts."""

    intents: tuple[str, ...]
    domains: dict[str, tuple[str, ...]]
    domain_of: dict[str, str]
    utterances: dict[str, dict[str, tuple[str, ...]]]
    oos: dict[str, tuple[str, ...]]


@functools.lru_cache(maxsize=2)
def load(data_dir: str = "", download: bool = False) -> Clinc:
    """The whole data set, parsed once per folder."""
    data = json.loads(find_or_download("data_full.json", data_dir or None, download).read_text("utf-8"))
    domains = json.loads(find_or_download("domains.json", data_dir or None, download).read_text("utf-8"))
    domains = {d: tuple(sorted(v)) for d, v in domains.items()}
    domain_of = {i: d for d, intents in domains.items() for i in intents}
    utterances: dict[str, dict[str, list[str]]] = {}
    for part in ("train", "val", "test"):
        by_intent: dict[str, list[str]] = {}
        for text, intent in data[part]:
            by_intent.setdefault(intent, []).append(text)
        utterances[part] = {k: tuple(v) for k, v in by_intent.items()}
    unknown = set(utterances["train"]) - set(domain_of)
    if unknown:
        raise ValueError(f"CLINC150: intents without a domain in domains.json: {sorted(unknown)[:5]}")
    return Clinc(tuple(sorted(domain_of)), domains, domain_of, utterances,
                 {p: tuple(t for t, _ in data[f"oos_{p}"]) for p in ("train", "val", "test")})
