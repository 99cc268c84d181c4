"""The map of where meta-learning is used: a pure builder, data in, plotly Figure out.

A treemap: meta-learning at the root, the areas of application under it, and under each area its applications,
coloured by whether MetaViz shows them live (a lab to open) or only describes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from metaviz.figures.theme import layout

TEXT = dict(title="Where meta-learning is used", root="meta-learning", shown="shown here: {page}",
            described="only described")
SHOWN, DESCRIBED, AREA = "#4c6ef5", "#ced4da", "#e7f5ff"


def applications_figure(rows: Sequence[tuple[str, str, str | None]],
                        text: Mapping[str, str] | None = None) -> go.Figure:
    """``rows``: (area, application, the page that shows it or None), in the reader's words. Each application is
    a tile under its area, blue when a page shows it (named on hover), grey when it is only described."""
    w = {**TEXT, **(text or {})}
    areas = list(dict.fromkeys(area for area, _, _ in rows))
    ids = [w["root"], *(f"area/{a}" for a in areas), *(f"app/{i}" for i in range(len(rows)))]
    labels = [w["root"], *areas, *(app for _, app, _ in rows)]
    parents = ["", *([w["root"]] * len(areas)), *(f"area/{area}" for area, _, _ in rows)]
    colors = ["white", *([AREA] * len(areas)), *(SHOWN if page else DESCRIBED for _, _, page in rows)]
    notes = ["", *([""] * len(areas)), *(w["shown"].format(page=page) if page else w["described"]
                                          for _, _, page in rows)]
    trace = go.Treemap(ids=ids, labels=labels, parents=parents, values=[0] * (1 + len(areas)) + [1] * len(rows),
                       marker=dict(colors=colors), customdata=notes, branchvalues="remainder",
                       texttemplate="%{label}<br><i>%{customdata}</i>", hovertemplate="%{label}<br>%{customdata}"
                                                                                      "<extra></extra>",
                       root=dict(color="white"), tiling=dict(pad=2))
    return go.Figure(trace, layout=layout(title=w["title"], height=460, margin=dict(l=10, r=10, t=50, b=10)))
