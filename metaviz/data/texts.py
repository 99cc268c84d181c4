"""A user's own labelled sentences, taken in safely: a CSV file (``text,label``) or JSON lines.

Formats:

* CSV with a header row naming a ``text`` and a ``label`` column (other columns are ignored); any
  delimiter that ``csv.Sniffer`` recognises among ``,;\\t``;
* JSON lines: one object per line, ``{"text": "...", "label": "..."}``;
* queries: the same CSV or JSON lines without labels (a ``text`` column), or plain text with one sentence
  per line.

Safety: the file is read as bytes (at most ``Limits.max_bytes``) and decoded as UTF-8 (a BOM is fine); a
line that is not valid UTF-8 is rejected with its line number, the others are kept. Rows past
``max_rows``, empty texts, texts longer than ``max_chars`` and rows without a label are rejected with
their line number and the reason; nothing a file supplies is ever run or formatted into code.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from metaviz.messages import KeyedError


class TextFileError(KeyedError):
    """A whole file is refused (too large, no text column, nothing usable); the message says why."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 5_000_000
    max_rows: int = 20_000
    max_chars: int = 1_000
    max_classes: int = 500


LIMITS = Limits()


@dataclass(frozen=True)
class Rejected:
    """A refused row: its line number and the reason, in English and as a catalogue key (metaviz.messages)."""

    line: int
    reason: str
    key: str | None = None
    params: dict = field(default_factory=dict)


@dataclass
class Sentences:
    """Accepted rows (``texts`` and, for labelled files, ``labels``) and the rows refused, by line number."""

    name: str
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for label in self.labels:
            out[label] = out.get(label, 0) + 1
        return out


def _decode_lines(data: bytes, name: str, out: Sentences) -> list[tuple[int, str]]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            lines.append((number, raw.decode("utf-8").rstrip("\r")))
        except UnicodeDecodeError as error:
            out.rejected.append(Rejected(number, f"not valid UTF-8 (byte {error.start + 1}): save the file as UTF-8",
                                         "err_text.row_utf8", {"byte": str(error.start + 1)}))
    return lines


def _accept(out: Sentences, number: int, text: object, label: object | None, labelled: bool,
            limits: Limits) -> None:
    text = "" if text is None else str(text).strip()
    if len(out.texts) >= limits.max_rows:
        out.rejected.append(Rejected(number, f"past the limit of {limits.max_rows:,} rows", "err_text.row_rows",
                                     {"n": f"{limits.max_rows:,}"}))
    elif not text:
        out.rejected.append(Rejected(number, "empty text", "err_text.row_empty"))
    elif len(text) > limits.max_chars:
        out.rejected.append(Rejected(number, f"text longer than {limits.max_chars:,} characters ({len(text):,})",
                                     "err_text.row_long", {"n": f"{limits.max_chars:,}", "got": f"{len(text):,}"}))
    elif labelled and (label is None or not str(label).strip()):
        out.rejected.append(Rejected(number, "no label", "err_text.row_no_label"))
    elif labelled and str(label).strip() not in out.counts() and len(out.counts()) >= limits.max_classes:
        out.rejected.append(Rejected(number, f"past the limit of {limits.max_classes} classes", "err_text.row_classes",
                                     {"n": str(limits.max_classes)}))
    else:
        out.texts.append(text)
        out.lines.append(number)
        if labelled:
            out.labels.append(str(label).strip())


def read_sentences(source: str | Path | bytes, labelled: bool = True, name: str | None = None,
                   limits: Limits = LIMITS) -> Sentences:
    """Rows of a CSV, JSON-lines or (queries only) plain-text file: a path or the bytes of an upload."""
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        name = name or str(source)
        if not path.is_file():
            raise TextFileError(f"{name}: no such file", "err_text.missing", file=name)
        if path.stat().st_size > limits.max_bytes:
            raise TextFileError(f"{name}: larger than {limits.max_bytes / 1e6:g} MB", "err_text.too_large",
                                file=name, mb=f"{limits.max_bytes / 1e6:g}")
        data = path.read_bytes()
    else:
        data, name = bytes(source), name or "upload"
        if len(data) > limits.max_bytes:
            raise TextFileError(f"{name}: larger than {limits.max_bytes / 1e6:g} MB", "err_text.too_large",
                                file=name, mb=f"{limits.max_bytes / 1e6:g}")
    out = Sentences(name)
    lines = [(n, s) for n, s in _decode_lines(data, name, out) if s.strip()]
    if not lines:
        if not out.rejected:
            raise TextFileError(f"{name}: the file is empty", "err_text.empty", file=name)
        return out
    if lines[0][1].lstrip().startswith("{"):
        for number, line in lines:
            try:
                row = json.loads(line)
            except ValueError as error:
                out.rejected.append(Rejected(number, f"not a JSON object ({error.msg})"))
                continue
            if not isinstance(row, dict):
                out.rejected.append(Rejected(number, "not a JSON object"))
                continue
            _accept(out, number, row.get("text"), row.get("label"), labelled, limits)
        return out
    header = next(csv.reader([lines[0][1]]))
    columns = [h.strip().lower() for h in header]
    if "text" not in columns:
        if labelled:
            raise TextFileError(f"{name}: the first row must name a 'text' and a 'label' column (got {header[:4]})",
                                "err_text.no_columns", file=name)
        for number, line in lines:  # plain text: one sentence per line
            _accept(out, number, line, None, False, limits)
        return out
    if labelled and "label" not in columns:
        raise TextFileError(f"{name}: no 'label' column in the first row ({header[:4]})", "err_text.no_label",
                            file=name)
    t, y = columns.index("text"), columns.index("label") if "label" in columns else -1
    for number, line in lines[1:]:
        try:
            row = next(csv.reader(io.StringIO(line)))
        except csv.Error as error:
            out.rejected.append(Rejected(number, f"not a CSV row ({error})"))
            continue
        if len(row) <= max(t, y):
            out.rejected.append(Rejected(number, f"{len(row)} columns, expected at least {max(t, y) + 1}"))
            continue
        _accept(out, number, row[t], row[y] if y >= 0 else None, labelled, limits)
    return out


def read_labelled_lines(text: str, limits: Limits = LIMITS) -> Sentences:
    """Sentences typed as ``label: sentence`` lines (a full-width colon ``：`` works too); blank lines skipped,
    a line without a label is rejected with its number."""
    out = Sentences("typed")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        label, colon, sentence = line.replace("：", ":", 1).partition(":")
        if not colon:
            out.rejected.append(Rejected(number, "no 'label:' before the sentence", "err_text.row_no_colon"))
            continue
        _accept(out, number, sentence, label, True, limits)
    return out
