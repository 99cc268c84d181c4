"""A deterministic text tokenizer: hashed character n-grams (no vocabulary file, no download).

Each sentence becomes the ids of its character 2- to 4-grams taken inside word boundaries, as
scikit-learn's ``analyzer="char_wb"`` takes them (every whitespace-separated word is padded with one space
on each side; a word shorter than n gives one n-gram, itself). Ids come from a fixed hash (CRC-32) of the
n-gram's UTF-8 bytes into ``BUCKETS - 1`` buckets, shifted by one so that 0 is padding: the same text gives
the same ids on every machine and in every run, any script works (Chinese has no spaces, so a Chinese
sentence is one long "word" whose character n-grams are its 2- to 4-character pieces; each CJK character
is also kept on its own, since one Chinese character often is a word), and unseen words still share
n-grams with seen ones ("refund" and "refunds"), which is what makes n-grams work with five examples.

A batch is a LongTensor ``ids [N, L]`` padded with 0 on the right; ``padding_mask(ids)`` is ``ids != 0``.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Iterable, Sequence

import torch

BUCKETS = 1 << 16      # ids 1..BUCKETS-1; 0 pads
MAX_TOKENS = 256       # n-grams kept per sentence (CLINC150's longest, 136 characters, gives about 400)
NGRAMS = (2, 3, 4)
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC (full-width letters and digits become plain ones), lower case, runs of whitespace -> one space."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def is_cjk(ch: str) -> bool:
    """Han ideographs, kana and hangul: scripts written without spaces between words."""
    code = ord(ch)
    return (0x3040 <= code <= 0x30FF or 0x3400 <= code <= 0x4DBF or 0x4E00 <= code <= 0x9FFF
            or 0xAC00 <= code <= 0xD7AF or 0xF900 <= code <= 0xFAFF)


def ngrams(text: str) -> list[str]:
    """The character n-grams of ``text`` in order: scikit-learn's ``char_wb`` (2 to 4), then each CJK character."""
    out: list[str] = []
    for word in normalize(text).split(" "):
        if not word:
            continue
        padded = f" {word} "
        for n in NGRAMS:
            if len(padded) <= n:  # a short word gives itself once, and no longer n-grams
                out.append(padded)
                break
            out.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    out.extend(ch for ch in normalize(text) if is_cjk(ch))
    return out


def token_id(gram: str) -> int:
    """1..BUCKETS-1, the same on every machine (CRC-32 is fixed; Python's ``hash`` is salted per process)."""
    return 1 + zlib.crc32(gram.encode("utf-8")) % (BUCKETS - 1)


def encode(text: str, max_tokens: int = MAX_TOKENS) -> list[int]:
    """Ids of the first ``max_tokens`` n-grams of ``text`` (repeats kept: they are the term frequencies)."""
    return [token_id(g) for g in ngrams(text)[:max_tokens]]


def encode_batch(texts: Iterable[str], max_tokens: int = MAX_TOKENS) -> torch.Tensor:
    """ids [N, max_tokens] int64, 0-padded on the right."""
    rows = [encode(t, max_tokens) for t in texts]
    out = torch.zeros(len(rows), max_tokens, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, :len(row)] = torch.tensor(row, dtype=torch.long)
    return out


def padding_mask(ids: torch.Tensor) -> torch.Tensor:
    """True where ``ids`` holds a token, False on padding: same shape as ``ids``."""
    return ids != 0


def cjk_fraction(texts: Sequence[str]) -> float:
    """Share of the letters of ``texts`` that are CJK characters (0 for English, near 1 for Chinese)."""
    letters = [ch for t in texts for ch in normalize(t) if ch.isalpha()]
    return sum(is_cjk(ch) for ch in letters) / len(letters) if letters else 0.0
