"""Loss Landscape: the meta-loss around the meta-parameters, the paths of both loops, and a 2-D toy."""

import time

import streamlit as st

from metaviz.analysis.coarse_to_fine import landscape_stream
from metaviz.analysis.landscape import LandscapeConfig, default_run, path_overlays
from metaviz.analysis.toy import ToyConfig, toy_surface, toy_update
from metaviz.figures.landscape import VIEWS, landscape_figure, path_loss_figure, toy_figure
from ui import code, forms, progressive, state, status, words
from ui.i18n import labels, t
from ui.router import ensure_router
from ui.worker import session_worker

ensure_router()
STORE, TOY_CHART, KEEP = "mv.landscape.store", "landscape.toy-chart", 8
VIEW_KEYS = dict(zip(VIEWS, ("pg_landscape.view_contour", "pg_landscape.view_heatmap", "pg_landscape.view_surface")))
BACKGROUND_KEYS = {"meta": "pg_landscape.background_meta", "joint": "pg_landscape.background_joint"}


@st.cache_data(show_spinner=t("pg_landscape.spinner_default"), max_entries=4)
def default_trajectory(seed: int):
    return default_run(seed)

saved = lambda snap: {c.step: c for c in (*snap.checkpoints, *([snap.checkpoint] if snap.checkpoint else []))}


st.title(t("pg_landscape.title"))
land, toy = st.tabs([t("pg_landscape.tab_landscape"), t("pg_landscape.tab_toy")])

with land:
    snap = session_worker().snapshot()
    if kept := saved(snap):
        run, trajectory = snap.config, tuple((s, kept[s].learner) for s in sorted(kept))
        st.caption(t("pg_landscape.your_run", learner=run.learner, task=run.task, n=len(trajectory),
                     step=trajectory[-1][0], status=status.label(snap.status)))
    else:
        run, trajectory = default_trajectory(state.seed())
        st.caption(t("pg_landscape.default_run", steps=trajectory[-1][0]))
    store = st.session_state.setdefault(STORE, {"landscapes": {}, "shown": {}, "paths": (None, None, 0.0)})
    shown = store["shown"].get(run)
    with st.expander(t("pg_landscape.settings")):
        lconfig = forms.config_form(LandscapeConfig(), "landscape")
    left, mid, right = st.columns([2, 2, 1], vertical_alignment="bottom")
    view = left.segmented_control(t("pg_landscape.view"), VIEWS, default="contour", key="landscape.view",
                                  format_func=labels(VIEW_KEYS).__getitem__) or "contour"
    steps = [s for s, _ in trajectory]  # a new widget, at the latest, when they change (Recompute moves there)
    centre = mid.select_slider(t("pg_landscape.centre"), steps, value=steps[-1],
                               key=f"landscape.c.{hash((run, *steps))}")
    recompute = right.button(t("pg_landscape.recompute"), icon=":material/refresh:", key="landscape.recompute",
                             width="stretch")
    log = left.toggle(t("pg_landscape.log"), value=True, key="landscape.log")

    if shown is None or recompute:
        def preview(ls):  # the level drawn so far, without the paths (they follow once the grid is done)
            st.plotly_chart(landscape_figure(ls, (), view, log, text=words.landscape(ls.run, ls.config)),
                            key=f"landscape.preview.{len(ls.a)}")

        def progress_text(p):
            if p.preview:  # the coarsest level over the first task first: a cheap picture, then the exact mean
                return t("pg_speed.landscape_preview", done=p.done, total=p.total, r=len(p.landscape.a),
                         tasks=lconfig.n_tasks)
            return t("pg_speed.landscape_progress", done=p.done, total=p.total, share=f"{p.fraction:.0%}",
                     r=len(p.landscape.a) if p.landscape else 0, full=p.levels[-1])

        def compute(lc):  # coarse to fine: a 5x5 picture first, refined to the full grid (cancellable)
            key = (run, centre, lc)
            if key not in store["landscapes"]:  # a checkpoint's config has the learning rates in force then
                stream = landscape_stream(kept[centre].config if kept else run, trajectory, lc, step=centre)
                progressive.follow(stream, lambda p: p.landscape, preview, lambda ls: store["shown"].update({run: ls}),
                                   progress_text, f"landscape.cancel.{hash(lc)}")
                store["landscapes"][key] = store["shown"][run]
                store["landscapes"] = dict(list(store["landscapes"].items())[-KEEP:])
            return store["landscapes"][key]
        try:
            shown = compute(lconfig)
        except ValueError as error:  # PCA on too few checkpoints, a pre-adaptation loss without inner loop
            st.warning(t("pg_landscape.fallback", error=error))
            shown = compute(LandscapeConfig("random", seed=lconfig.seed, resolution=lconfig.resolution))
        store["shown"][run] = shown
    if all(shown is not done for done in store["landscapes"].values()):  # a cancelled stream's last level
        st.info(t("pg_speed.landscape_partial", r=len(shown.a), full=lconfig.resolution))
    elif shown.config != lconfig or shown.plane.step != centre:
        st.info(t("pg_landscape.drawn", step=shown.plane.step))

    @st.fragment(run_every=5.0 if snap.live and store["paths"][2] < 1.0 else None)  # follow training when cheap
    def figures():
        s = session_worker().snapshot()
        newer = saved(s) if s.config == run else {}
        path = tuple((k, newer[k].learner) for k in sorted(newer)) or trajectory
        key = (id(shown), path[-1][0], len(path))
        if store["paths"][0] != key:
            with st.spinner(t("pg_landscape.placing")):
                start = time.perf_counter()
                store["paths"] = (key, path_overlays(shown, path), time.perf_counter() - start)
        paths, (a, b) = store["paths"][1], st.columns([3, 2])
        text = words.landscape(shown.run, shown.config)
        a.plotly_chart(landscape_figure(shown, paths, view, log, text=text), key="landscape.figure")
        b.plotly_chart(path_loss_figure(paths, log, text=words.path_loss()), key="landscape.paths")
        st.caption(t("pg_landscape.caption", label=text["title"], step=shown.plane.step,
                     loss=f"{shown.centre_loss:.4g}", a=len(shown.a), b=len(shown.b), seconds=f"{shown.seconds:.1f}",
                     device=shown.device, off=f"{paths[0].off_plane:.0%}"))

    figures()
    code.explain(LandscapeConfig, label=t("pg_landscape.explain_landscape"))

with toy:
    st.markdown(t("pg_landscape.toy_intro"))
    c1, c2 = st.columns([1, 3])
    with c1:
        tconfig = forms.config_form(ToyConfig(), "toy")
        for i, v in ((1, 0.5), (2, -1.0)):  # defaults in session state, not value=: a click sets them too
            st.session_state.setdefault(f"toy.theta{i}", v)
        theta = tuple(st.number_input(t("pg_landscape.theta", i=i), -3.0, 3.0, step=0.1, key=f"toy.theta{i}")
                      for i in (1, 2))
        background = st.radio(t("pg_landscape.background"), list(BACKGROUND_KEYS), key="toy.background",
                              horizontal=True, format_func=labels(BACKGROUND_KEYS).__getitem__)

    def clicked():
        if points := st.session_state[TOY_CHART].selection.points:  # a click sets the two number boxes
            st.session_state["toy.theta1"], st.session_state["toy.theta2"] = (
                min(max(float(points[0][k]), -3.0), 3.0) for k in ("x", "y"))

    update = toy_update(tconfig, theta)
    c2.plotly_chart(toy_figure(toy_surface(tconfig), update, background, text=words.toy()), key=TOY_CHART,
                    on_select=clicked, selection_mode="points")
    g = {k: f"({v[0]:+.3f}, {v[1]:+.3f})" for k, v in update.gradient.items()}
    c1.markdown(t("pg_landscape.gradients", maml=g["maml"], fomaml=g["fomaml"], reptile=g["reptile"],
                  second=f"({update.second_order[0]:+.3f}, {update.second_order[1]:+.3f})"))
    code.explain(ToyConfig, label=t("pg_landscape.explain_toy"))
