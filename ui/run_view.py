"""Drawing a run's snapshot: status, metrics, curves and the adaptation view."""

from __future__ import annotations

import streamlit as st

from metaviz import learners, tasks
from metaviz.analysis.adaptation import adaptation_curves
from metaviz.analysis.tasks import preview
from metaviz.figures import light
from metaviz.figures.adaptation import adaptation_figure
from metaviz.figures.curves import accuracy_curves, loss_curves, loss_html, steps_curve
from metaviz.figures.tasks import image_grid, preview_figure
from metaviz.messages import recognise
from metaviz.train import RunConfig
from metaviz.worker import Snapshot
from ui import empty, state, status, words
from ui.i18n import current, said, t


def memo(name: str, key, compute):
    """``compute()``, kept in this session until ``key`` changes (live views redraw often)."""
    slot = f"mv.memo.{name}"
    held = st.session_state.get(slot)
    if held is None or held[0] != key:
        held = (key, compute())
        st.session_state[slot] = held
    return held[1]


def loss_text(task: str | None = None) -> dict[str, str]:
    """The words of :func:`metaviz.figures.curves.loss_curves` in the session's language, the loss named as
    ``task``'s runs name it (:func:`ui.words.metric`)."""
    named = words.metric(task)
    return dict(title=named["title"], x=t("fig_curves.iteration"), y=named["axis"],
                train=t("fig_curves.train"), val=t("fig_curves.val"), test=t("fig_curves.test"),
                baseline_train=t("fig_curves.baseline_train"), baseline_val=t("fig_curves.baseline_val"),
                baseline_test=t("fig_curves.baseline_test"))


def accuracy_text() -> dict[str, str]:
    """The words of :func:`metaviz.figures.curves.accuracy_curves` in the session's language."""
    return dict(title=t("fig_curves.accuracy_title"), x=t("fig_curves.iteration"), y=t("fig_curves.accuracy"),
                val=t("fig_curves.acc_val"), test=t("fig_curves.acc_test"),
                baseline_val=t("fig_curves.acc_baseline_val"), baseline_test=t("fig_curves.acc_baseline_test"),
                chance=t("fig_curves.chance"))


def steps_text(task: str | None = None) -> dict[str, str]:
    """The words of :func:`metaviz.figures.curves.steps_curve` in the session's language (the loss named as
    ``task``'s runs name it)."""
    named = words.metric(task)
    return dict(title=t("fig_curves.steps_title"), x=t("fig_curves.steps_x"), y_loss=named["held_out"],
                y_log=named["held_out_log"], y_accuracy=t("fig_curves.steps_accuracy"),
                baseline=t("fig_curves.pretrained"))


def adaptation_figure_here(result):
    """:func:`metaviz.figures.adaptation.adaptation_figure` in the session's language (its words from
    :mod:`ui.words`, which the Adaptation page draws the same figure with)."""
    return adaptation_figure(result, text=words.fit(), names=words.learner_names())


def status_row(snap: Snapshot) -> None:
    total = snap.config.train.n_steps if snap.config else 0
    cols = st.columns(4)
    cols[0].metric(t("ui_run.iterations"), f"{snap.step} / {total}" if total else "0")
    cols[1].metric(t("ui_run.tasks_per_second"), f"{snap.tasks_per_second:,.0f}")
    cols[2].metric(t("ui_run.device"), snap.device.split(":")[0] if snap.device else "–")
    with cols[3]:
        st.markdown(f"**{t('ui_run.status')}**")
        st.badge(status.label(snap.status), color=status.color(snap.status))
    if snap.status == "queued":  # the app's scheduler trains a few runs at once (docs/classroom.md)
        st.info(t("ui_run.queue", n=snap.queue_position), icon=":material/hourglass_top:")
    if snap.status in ("diverged", "error", "limited"):
        st.error(said(recognise(snap.message)), icon=":material/error:")


def loss_chart(snap: Snapshot) -> None:
    """The meta-training and meta-validation losses: new points at every refresh.

    While the run trains, a light HTML/SVG chart (the browser would lay a plotly chart out again at each of the
    two or three redraws a second, and the page's controls would wait for it); once it stops, the plotly chart."""
    if not snap.config:  # a drawn empty state: the page's first figure comes before any plotly chart
        empty.draw(t("pg_first.loss_title"), t("pg_first.press_start", start=t("ui_controls.start")))
        return
    loss_view(snap.train, snap.evals, snap.config.learner, snap.live, key="train-loss", task=snap.config.task)
    if snap.live:
        st.caption(t("ui_run.live_chart", pause=t("ui_controls.pause")))


def loss_view(train, evals, learner: str, live: bool, key: str, uirevision: str = "loss-curves",
              task: str | None = None) -> None:
    """The loss chart of a run (of task family ``task``, which names the loss): light HTML while it trains and
    the view redraws often, plotly once it stops."""
    text = loss_text(task)
    if live:  # markdown, not st.html, whose sanitizer drops SVG; the HTML is ours, its words escaped
        st.markdown(loss_html(train, evals, learner, text=text), unsafe_allow_html=True)
    else:
        st.plotly_chart(loss_curves(train, evals, learner, uirevision=uirevision, text=text), key=key)


def task_preview(config: RunConfig) -> None:
    """Before the first run: tasks of the chosen family as the learner will meet them (support and query), so
    that the page opens with a picture rather than an empty chart."""
    try:
        p = memo("task-preview", (config.task, config.task_config),
                 lambda: preview(config.task, config.task_config, "train", n_tasks=3, seed=0))
    except (ValueError, FileNotFoundError, OSError):  # data not there yet (Omniglot): Start says what to do
        return
    st.markdown(t("ui_run.preview", builder=t("nav.tasks")))
    if p.is_image:
        st.image(image_grid(p.support_x[0], p.support_y[0], config.task_config.n_way), width="content",
                 caption=t("pg_tasks.support_caption", k=config.task_config.k_shot))
    else:
        st.plotly_chart(preview_figure(p, text=words.task_preview()), key="train-preview")


def eval_charts(snap: Snapshot) -> None:
    """What changes only at an evaluation: accuracy over meta-training (classification) and the loss or
    accuracy after each inner step on held-out tasks. Its own, slower panel: a browser lays a plotly chart
    out again at every redraw, changed or not (benchmarks/app_latency.py)."""
    if not snap.config:
        return
    classification = tasks.get(snap.config.task).kind == "classification"
    ev = snap.last_eval
    if classification:
        n_way = snap.config.task_config.n_way
        chart(accuracy_curves(snap.evals, snap.config.learner, n_way, text=accuracy_text()), snap.live,
              key="train-accuracy")
    if ev is not None and learners.get(snap.config.learner).has_inner_loop:  # one-pass learners: flat
        metric = "accuracy" if classification else "loss"

        def build():
            base = None if ev.baseline_val is None else getattr(ev.baseline_val, metric)
            return steps_curve(getattr(ev.val, metric), base, snap.config.learner, metric,
                               text=steps_text(snap.config.task))

        chart(memo("steps-curve", (snap.config, ev.step, current()), build), snap.live, key="train-steps")


def chart(figure, live: bool, key: str) -> None:
    """``figure`` as plotly, or, while the run trains, as the light chart: a panel that refreshes re-sends its
    figure each time, and the browser lays a plotly chart out again even when nothing in it changed."""
    if live:  # markdown, not st.html, whose sanitizer drops SVG; the HTML is ours, its words escaped
        st.markdown(light.from_figure(figure), unsafe_allow_html=True)
    else:
        st.plotly_chart(figure, key=key)


def adaptation(snap: Snapshot) -> None:
    """The inner loop on one held-out task, from the latest parameters."""
    ckpt = snap.checkpoint
    if ckpt is None:
        return
    st.subheader(t("ui_run.adaptation_title"))
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    steps = left.slider(t("ui_run.draw_steps"), 1, 20, 10, key="mv.draw_steps", help=t("ui_run.draw_steps_help"))
    if right.button(t("ui_run.new_task"), key="new-task", icon=":material/casino:", width="stretch"):
        state.next_task_seed()
    task_cls = tasks.get(ckpt.config.task)
    if task_cls.kind != "regression":
        return
    def compute():
        states = {ckpt.config.learner: ckpt.learner}
        if ckpt.baseline is not None:
            states["pretrained"] = ckpt.baseline
        result = adaptation_curves(ckpt.config, states, state.task_seed(), steps=steps)
        return result, adaptation_figure_here(result)

    # recomputed only when the parameters (about once a second), the view or the language change
    result, figure = memo("adaptation", (snap.config, ckpt.step, ckpt.config, state.task_seed(), steps, current()),
                          compute)
    st.caption(t("ui_run.task_caption", seed=state.task_seed(), amplitude=f"{result.task_truth['amplitude']:.2f}",
                 phase=f"{result.task_truth['phase']:.2f}", lr=f"{result.inner_lr:g}", step=ckpt.step))
    st.plotly_chart(figure, key="train-adaptation")


def training_panels(worker, snap: Snapshot) -> bool:
    """The status row, the loss chart and the evaluation charts of the session's run, as the Train and Meta-RL
    pages show them: what changes at every meta-iteration redraws often, what changes at evaluations slowly
    (and, right after Start, from their first refresh on: the first point comes sooner without them).
    Returns whether the run has just started, for the page's own slow panels."""
    from ui import controls
    from ui.live import SLOW_REFRESH_SECONDS, live_panel

    later = controls.just_started()
    live_panel(worker, status_row, drawn=snap)
    left, right = st.columns([3, 2])
    with left:
        live_panel(worker, loss_chart, drawn=snap, follows=False)
    with right:
        live_panel(worker, eval_charts, drawn=snap, interval=SLOW_REFRESH_SECONDS, follows=False, later=later)
    return later
