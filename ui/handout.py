"""A lesson as a printable page: its text and figures in the order the lesson shows them, its self-check with
the answers on a page of their own, in one self-contained HTML file (plotly's own script inline once, so the
file opens offline and prints the figures as they show).

Every word is escaped before the few marks of the catalogue's Markdown (bold, italics, list items, paragraphs)
become tags: nothing in a text reaches the page as markup. Figures go through ``plotly.io.to_html``, which
writes their data as JSON with ``<``, ``>`` and ``/`` escaped. No streamlit here: :func:`page` is pure.

Why HTML and not a static image: plotly's image export (kaleido 1.5, 4.6 MB with its dependencies) works here
with Debian's chromium, but it needs a Chrome on the server and took 4 to 8 s a figure on the shared machine;
a printed HTML page draws the same figure, as vectors, with nothing more installed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

import plotly.graph_objects as go
import plotly.io as pio

STYLE = """body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; line-height: 1.5; }
figure { margin: 1rem 0; page-break-inside: avoid; } .note { border-left: 4px solid #8ab; padding-left: 1rem; }
.answers { page-break-before: always; } @media print { a { color: inherit; } }"""

Part = tuple[str, str] | go.Figure  # (heading or "", Markdown), or a figure
Check = tuple[str, Sequence[str], str, str]  # question, options, the right option, why


def markdown(text: str) -> str:
    """The catalogue's Markdown subset as HTML, escaped first: paragraphs, runs of ``- `` list items,
    ``**bold**`` and ``*italics*`` (LaTeX between dollars stays as written)."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        run: list[str] = []
        listing = False
        for line in [*block.splitlines(), None]:  # None: the end of the block closes the last run
            is_item = line is not None and line.lstrip().startswith("- ")
            if run and (line is None or is_item != listing):
                out.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in run) + "</ul>" if listing
                           else f"<p>{inline(' '.join(run))}</p>")
                run = []
            if line is not None and line.strip():
                listing = is_item
                run.append(line.lstrip()[2:] if is_item else line.strip())
    return "\n".join(out)


def inline(text: str) -> str:
    """One line of text as HTML: escaped, then its bold and italics marks as tags."""
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])", r"<em>\1</em>", text)


def figure_html(fig: go.Figure, with_script: bool) -> str:
    """A figure as an HTML fragment; ``with_script``: plotly.js inline with it (once a page)."""
    return "<figure>" + pio.to_html(fig, full_html=False, include_plotlyjs=with_script) + "</figure>"


def document(lang: str, title: str, body: str) -> str:
    """A whole page around ``body`` (HTML already built from escaped text)."""
    return (f'<!DOCTYPE html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>")


def page(lang: str, title: str, parts: Sequence[Part], checks: Sequence[Check], answers_title: str) -> str:
    """The handout: ``title``, then ``parts`` in order (text under its heading, or a figure), then the checks
    (question and lettered options), then their answers and explanations under ``answers_title``."""
    body, script = [f"<h1>{html.escape(title)}</h1>"], True
    for part in parts:
        if isinstance(part, go.Figure):
            body.append(figure_html(part, script))
            script = False
        else:
            heading, text = part
            body.append(f'<div class="note"><h3>{html.escape(heading)}</h3>{markdown(text)}</div>' if heading
                        else markdown(text))
    answers = []
    for n, (question, options, right, why) in enumerate(checks, 1):
        body.append(f"<h3>{n}. {inline(question)}</h3><ol type='a'>"
                    + "".join(f"<li>{inline(o)}</li>" for o in options) + "</ol>")
        answers.append(f"<p><strong>{n}.</strong> {inline(right)} — {inline(why)}</p>")
    if answers:
        body.append(f'<div class="answers"><h2>{html.escape(answers_title)}</h2>{"".join(answers)}</div>')
    return document(lang, title, "".join(body))
