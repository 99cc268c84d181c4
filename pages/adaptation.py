"""Adaptation: what the inner loop does, measured on the session's run (or a small default run).

Parameters come from the worker's snapshot checkpoints, held until Refresh (``ui.adaptation_runs``). The
meta-overfitting pair trains in two background workers owned by this session (the page stays usable and polls
them once a second), not in the script run.
"""

import streamlit as st

from metaviz import learners, tasks
from metaviz.analysis import adaptation as an
from metaviz.figures import adaptation as fig
from ui import state, status, words
from ui.adaptation_runs import BRIEF_STEPS, brief, forget_stages, held_record, measure_stages, pair_label, pair_workers
from ui.adaptation_runs import measure as run
from ui.i18n import t, title
from ui.router import ensure_router
from ui.run_view import chart

ensure_router()
N_TASKS = 25

st.title(t("pg_adapt.title"))
top = st.columns([3, 1, 1], vertical_alignment="bottom")
refresh = top[2].button(t("pg_adapt.refresh"), icon=":material/refresh:", key="adapt.refresh",
                        help=t("pg_adapt.refresh_help"))
fresh, record = held_record(refresh)
if refresh:
    forget_stages()
if fresh is None:
    st.info(t("pg_adapt.default_run", steps=record.config.train.n_steps, seconds=f"{record.seconds:.1f}"),
            icon=":material/info:")
steps_list = [c.step for c in record.checkpoints]
step = top[0].select_slider(t("pg_adapt.checkpoint"), steps_list, value=steps_list[-1], key="adapt.step")
ckpt = record.at(step)
cfg, kind, learner_cls = ckpt.config, tasks.get(ckpt.config.task).kind, learners.get(ckpt.config.learner)
heavy = an.heavy(cfg, ckpt.learner)  # a conv net on the CPU: fewer tasks and steps by default
n_tasks = 5 if heavy else N_TASKS
inner = top[1].slider(t("pg_adapt.inner_steps"), 1, 20, 5 if heavy else 10, key="adapt.inner")
newer = t("pg_adapt.newer", step=fresh.checkpoints[-1].step) \
    if fresh is not None and fresh.checkpoints[-1].step > steps_list[-1] else ""
st.caption(t("pg_adapt.caption", learner=title(learner_cls), task=title(tasks.get(cfg.task)), step=ckpt.step,
             status=status.label(record.status), n=n_tasks, seed=cfg.seed, few=t("pg_adapt.few") if heavy else "",
             newer=newer))
names = words.learner_names()

try:
    if kind == "reinforcement":  # the query cost (minus the return, regret) after policy-gradient steps
        st.subheader(t("pg_adapt.rl_subheader"))
        states = an.comparison_states(ckpt, [cfg.learner, learner_cls.baseline_learner], brief)
        curves = run("step_curves", cfg, states, n_tasks=n_tasks, steps=inner)
        rl_names = {n: title(learners.get(n)) for n in states}  # no short legend names for the RL learners
        st.plotly_chart(fig.step_curves_figure(curves, "loss", text=words.steps(cfg.task), names=rl_names),
                        key="adapt-rl")
    elif kind == "regression":
        st.subheader(t("pg_adapt.fit_subheader"))
        states = an.comparison_states(ckpt, [cfg.learner, "pretrained", "scratch"], brief)
        if st.button(t("pg_adapt.new_task"), icon=":material/casino:", key="adapt.task"):
            state.next_task_seed()
        fits = run("adaptation_curves", cfg, states, task_seed=state.task_seed(), steps=inner)
        st.plotly_chart(fig.adaptation_figure(fits, "adapt-fit", text=words.fit(), names=names), key="adapt-fit")
        curves = run("step_curves", cfg, states, n_tasks=n_tasks, steps=inner)
        st.plotly_chart(fig.step_curves_figure(curves, "loss", text=words.steps(), names=names), key="adapt-loss")
    else:
        st.subheader(t("pg_adapt.shots_subheader"))
        offered = {n: title(learners.get(n))  # labels looked up now; only learners that take the task's inputs
                   for n in learners.available(kind, tasks.get(cfg.task).input_kind())}
        ticked = st.multiselect(t("pg_adapt.learners"), list(offered), key="adapt.learners",
                                default=list(dict.fromkeys([cfg.learner, "pretrained", "scratch"])),
                                format_func=offered.__getitem__)
        st.caption(t("pg_adapt.brief_caption", n=BRIEF_STEPS))
        if ticked:
            shots = tuple(sorted({1, 5, 10, cfg.task_config.k_shot}))
            states = an.comparison_states(ckpt, ticked, brief)

            def shot_charts(curves, key=""):
                st.plotly_chart(fig.steps_by_shots_figure(curves, text=words.by_shots(), names=names),
                                key=f"adapt-steps-shots{key}")
                st.plotly_chart(fig.shots_figure(curves, inner, text=words.shots(), names=names),
                                key=f"adapt-shots{key}")

            def shots_text(stage):  # the fewest and most shots first, then the ones between
                return t("pg_speed.shots_progress", first=shots[0], last=shots[-1],
                         rest=t("pg_adapt.list_sep").join(map(str, shots[1:-1])))

            stage = measure_stages("shot_curves_stream", cfg, states, lambda c: shot_charts(c, ".first"), shots_text,
                                   shots=shots, n_tasks=n_tasks, steps=inner)
            shot_charts(stage.result)
            if not stage.final:
                st.info(t("pg_speed.shots_partial", shots=t("pg_adapt.list_sep").join(map(str, stage.result.shots))))
except ValueError as error:
    st.error(str(error), icon=":material/error:")

st.subheader(t("pg_adapt.layers_subheader"))
if learner_cls.has_inner_loop:
    relative = st.toggle(t("pg_adapt.relative"), True, key="adapt.relative")
    first = record.checkpoints[0]
    changes = {t("pg_adapt.at_step", step=c.step): run("layer_changes", c.config, c.learner, n_tasks=n_tasks,
                                                        steps=inner)
               for c in ([first, ckpt] if first.step != ckpt.step else [ckpt])}
    st.plotly_chart(fig.layer_changes_figure(changes, relative, cfg.learner, text=words.layers()), key="adapt-layers")
    now = list(changes.values())[-1].relative[:, -1]
    st.caption(t("pg_adapt.layers_caption", inner=inner, head=f"{now[-1]:.1%}",
                 body=t("pg_adapt.list_sep").join(f"{v:.1%}" for v in now[:-1])))
else:
    st.caption(t("pg_adapt.no_inner_loop", learner=title(learner_cls)))

st.subheader(t("pg_adapt.overfit_subheader"))
metric = "accuracy" if kind == "classification" else "loss"
own = an.overfit_from_evals(record.evals, metric)
st.caption(t("pg_adapt.overfit_caption"))
if own is not None:
    st.plotly_chart(fig.overfitting_figure({t("pg_adapt.this_run"): own}, "adapt-own-overfit", text=words.overfit()),
                    key="adapt-own-overfit")
else:
    st.caption(t("pg_adapt.no_train_evals"))
left, mid, right = st.columns([1, 1, 1], vertical_alignment="bottom")
distinct = left.number_input(t("pg_adapt.distinct"), 1, 5000, 5, key="adapt.distinct")
budget = mid.number_input(t("pg_adapt.budget"), 50, 5000, 300, step=50, key="adapt.budget")
pair = pair_workers()
if right.button(t("pg_adapt.compare"), icon=":material/play_arrow:", key="adapt.compare",
                disabled=any(w.snapshot().live for w in pair), help=t("pg_adapt.compare_help")):
    sent = [w.start(c) for w, c in zip(pair, an.overfit_configs(cfg, int(distinct), int(budget)))]
    [w.sync(i) for w, i in zip(pair, sent)]
    st.rerun()  # redraw with the polling timer on
live = any(w.snapshot().live for w in pair)


@st.fragment(run_every=1.0 if live else None)
def comparison() -> None:
    snaps = [w.snapshot() for w in pair]
    curves = {pair_label(s): an.overfit_from_evals(s.evals, metric) for s in snaps if s.config is not None}
    for s in snaps:  # each run's share done, while the pair trains
        if s.live and s.config is not None:
            st.progress(min(s.step / max(s.config.train.n_steps, 1), 1.0), text=pair_label(s))
    if len(curves) == 2 and all(c is not None for c in curves.values()):
        if any(s.live for s in snaps):  # refreshed every second: the light chart, one per run (plotly once done)
            for column, (name, c) in zip(st.columns(2), curves.items()):
                with column:
                    st.caption(name)
                    chart(fig.overfitting_figure({name: c}, text=words.overfit()), True, key=f"adapt-pair-{name}")
        else:
            st.plotly_chart(fig.overfitting_figure(curves, "adapt-pair", text=words.overfit()), key="adapt-pair")
    if any(s.status in ("error", "diverged") for s in snaps):
        st.error(next(s.message for s in snaps if s.status in ("error", "diverged")), icon=":material/error:")
    if live and not any(s.live for s in snaps):
        st.rerun()


comparison()
