"""Loss Landscape: the meta-loss around the meta-parameters, the paths of both loops, and a 2-D toy."""

import time

import streamlit as st

from metaviz.analysis.landscape import LandscapeConfig, compute_landscape, default_run, path_overlays
from metaviz.analysis.toy import ToyConfig, toy_surface, toy_update
from metaviz.figures.landscape import VIEWS, landscape_figure, path_loss_figure, toy_figure
from ui import code, forms, state
from ui.router import ensure_router
from ui.worker import session_worker

ensure_router()
STORE, TOY_CHART, KEEP, FIRST_BUDGET_S = "mv.landscape.store", "landscape.toy-chart", 8, 15.0


@st.cache_data(show_spinner="No run in this session yet: meta-training MAML on sine waves…", max_entries=4)
def default_trajectory(seed: int):
    return default_run(seed)

saved = lambda snap: {c.step: c for c in (*snap.checkpoints, *([snap.checkpoint] if snap.checkpoint else []))}


st.title("Loss Landscape")
land, toy = st.tabs(["Landscape of the meta-loss", "Two tasks, two parameters"])

with land:
    snap = session_worker().snapshot()
    if kept := saved(snap):
        run, trajectory = snap.config, tuple((s, kept[s].learner) for s in sorted(kept))
        st.caption(f"Your run: {run.learner} on {run.task}, {len(trajectory)} saved checkpoints up to "
                   f"meta-iteration {trajectory[-1][0]} ({snap.status}).")
    else:
        run, trajectory = default_trajectory(state.seed())
        st.caption(f"No run in this session yet: MAML on sine waves, meta-trained for {trajectory[-1][0]} "
                   "iterations when the page opened. Start one on the Train page to see yours here.")
    store = st.session_state.setdefault(STORE, {"landscapes": {}, "shown": {}, "paths": (None, None, 0.0)})
    shown = store["shown"].get(run)
    with st.expander("Landscape settings"):
        lconfig = forms.config_form(LandscapeConfig(), "landscape")
    left, mid, right = st.columns([2, 2, 1], vertical_alignment="bottom")
    view = left.segmented_control("View", VIEWS, default="contour", key="landscape.view") or "contour"
    steps = [s for s, _ in trajectory]  # a new widget, at the latest, when they change (Recompute moves there)
    centre = mid.select_slider("Centre (checkpoint)", steps, value=steps[-1], key=f"landscape.c.{hash((run, *steps))}")
    recompute = right.button("Recompute", icon=":material/refresh:", key="landscape.recompute", width="stretch")
    log = left.toggle("Log colour scale", value=True, key="landscape.log")

    if shown is None or recompute:
        bar = st.progress(0.0, text="Evaluating the loss on the grid…")
        def compute(lc):  # the first picture of a run must come quickly: a coarser grid if this one is slow
            key = (run, centre, lc, shown is None)
            if key not in store["landscapes"]:  # a checkpoint's config has the learning rates in force then
                store["landscapes"][key] = compute_landscape(
                    kept[centre].config if kept else run, trajectory, lc, step=centre,
                    budget_s=FIRST_BUDGET_S if shown is None else None,
                    progress=lambda f, m: bar.progress(f, text=f"Evaluating {m}: {f:.0%}"))
                store["landscapes"] = dict(list(store["landscapes"].items())[-KEEP:])
            return store["landscapes"][key]
        try:
            shown = compute(lconfig)
        except ValueError as error:  # PCA on too few checkpoints, a pre-adaptation loss without inner loop
            st.warning(f"{error}. Showing random directions and the post-adaptation loss instead.")
            shown = compute(LandscapeConfig("random", seed=lconfig.seed, resolution=lconfig.resolution))
        bar.empty()
        store["shown"][run] = shown
    if shown.config.resolution < lconfig.resolution and shown.estimate_s:
        st.info(f"A quick {shown.config.resolution}x{shown.config.resolution} preview: the full grid would take about "
                f"{shown.estimate_s:.0f} s here. Press **Recompute** for it.")
    elif shown.config != lconfig or shown.plane.step != centre:
        st.info(f"Drawn: centre at meta-iteration {shown.plane.step} with the settings it was computed with. Press "
                "**Recompute** to apply the new ones; until then the plane and colours stay fixed, so frames compare.")

    @st.fragment(run_every=5.0 if snap.live and store["paths"][2] < 1.0 else None)  # follow training when cheap
    def figures():
        s = session_worker().snapshot()
        newer = saved(s) if s.config == run else {}
        path = tuple((k, newer[k].learner) for k in sorted(newer)) or trajectory
        key = (id(shown), path[-1][0], len(path))
        if store["paths"][0] != key:
            with st.spinner("Placing the paths on the plane…"):
                start = time.perf_counter()
                store["paths"] = (key, path_overlays(shown, path), time.perf_counter() - start)
        paths, (a, b) = store["paths"][1], st.columns([3, 2])
        a.plotly_chart(landscape_figure(shown, paths, view, log), key="landscape.figure")
        b.plotly_chart(path_loss_figure(paths, log), key="landscape.paths")
        st.caption(f"{shown.label}. Centre: meta-iteration {shown.plane.step}, loss {shown.centre_loss:.4g}; "
                   f"{len(shown.a)}x{len(shown.b)} grid in {shown.seconds:.1f} s on {shown.device}. The outer path is "
                   f"{100 * paths[0].off_plane:.0f}% off the plane (RMS distance to it / to the centre): where "
                   "a dotted curve leaves its solid one, the drawn path crosses contours the real one never touches.")

    figures()
    code.explain(LandscapeConfig, label="How the landscape is computed")

with toy:
    st.markdown("Click a point (or type it): each task takes its inner step(s) from there, and the arrows are the "
                "meta-updates of **MAML**, **FOMAML** and **Reptile**; dotted red: the **second-order term**.")
    c1, c2 = st.columns([1, 3])
    with c1:
        tconfig = forms.config_form(ToyConfig(), "toy")
        for i, v in ((1, 0.5), (2, -1.0)):  # defaults in session state, not value=: a click sets them too
            st.session_state.setdefault(f"toy.theta{i}", v)
        theta = tuple(st.number_input(f"theta {i}", -3.0, 3.0, step=0.1, key=f"toy.theta{i}") for i in (1, 2))
        background = st.radio("Background", ["meta", "joint"], key="toy.background", horizontal=True,
                              format_func={"meta": "MAML objective", "joint": "joint loss"}.get)

    def clicked():
        if points := st.session_state[TOY_CHART].selection.points:  # a click sets the two number boxes
            st.session_state["toy.theta1"], st.session_state["toy.theta2"] = (
                min(max(float(points[0][k]), -3.0), 3.0) for k in ("x", "y"))

    update = toy_update(tconfig, theta)
    c2.plotly_chart(toy_figure(toy_surface(tconfig), update, background), key=TOY_CHART, on_select=clicked,
                    selection_mode="points")
    g = {k: f"({v[0]:+.3f}, {v[1]:+.3f})" for k, v in update.gradient.items()}
    c1.markdown(f"**Meta-gradients** here: MAML {g['maml']}, FOMAML {g['fomaml']}, Reptile {g['reptile']}; "
                f"second-order term ({update.second_order[0]:+.3f}, {update.second_order[1]:+.3f}).")
    code.explain(ToyConfig, label="How the toy is computed")
