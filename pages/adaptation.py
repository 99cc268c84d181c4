"""Adaptation: what the inner loop does, measured on the session's run (or a small default run).

Parameters come from the worker's snapshot checkpoints, held until Refresh, never from the training thread's live
tensors. Analyses are cached by the parameters' fingerprint. The meta-overfitting pair trains in two background
workers owned by this session (the page stays usable and polls them once a second), not in the script run.
"""

import streamlit as st

from metaviz import learners, tasks
from metaviz.analysis import adaptation as an
from metaviz.figures import adaptation as fig
from metaviz.worker import Worker
from ui import state
from ui.router import ensure_router
from ui.worker import session_worker

ensure_router()
N_TASKS, BRIEF_STEPS = 25, 100


@st.cache_resource(show_spinner="No run in this session yet: meta-training MAML on sine waves for a few seconds…",
                   max_entries=4)
def default_record(seed: int) -> an.RunRecord:
    return an.quick_run(an.default_config(seed))


@st.cache_resource(show_spinner=f"Training a learner your run did not train ({BRIEF_STEPS} meta-iterations)…",
                   max_entries=32)
def brief(config, name: str) -> dict:
    return an.brief_train(config, name, BRIEF_STEPS)


@st.cache_data(show_spinner="Adapting on held-out tasks…", max_entries=32)
def measure(fn: str, key: str, config, _states, **kw):  # ``key`` (the parameters' fingerprint) stands for _states
    return getattr(an, fn)(config, _states, **kw)


@st.cache_resource(scope="session", on_release=lambda pair: [w.close() for w in pair], show_spinner=False)
def pair_workers() -> tuple[Worker, Worker]:
    """The two background runs of the meta-overfitting comparison, owned by this browser session."""
    return Worker(), Worker()


def run(fn: str, config, states, **kw):
    return measure(fn, an.fingerprint(states), config, states, **kw)


st.title("Adaptation")
top = st.columns([3, 1, 1], vertical_alignment="bottom")
refresh = top[2].button("Refresh from the run", icon=":material/refresh:", key="adapt.refresh",
                        help="Read the run's latest checkpoints. The page holds the ones it read until you refresh, "
                        "and never touches the training thread's live weights.")
fresh, held = an.record_from_snapshot(session_worker().snapshot()), st.session_state.get("adapt.record")
if fresh is not None and (refresh or held is None or not an.same_run(held, fresh)):
    st.session_state["adapt.record"] = held = fresh
record = held if fresh is not None else default_record(state.seed())
if fresh is None:
    st.info(f"No run in this session yet, so this page shows a small default run: MAML on sine waves, "
            f"{record.config.train.n_steps} meta-iterations trained when the page opened ({record.seconds:.1f} s on "
            "the CPU). Start your own on the **Train** page; this page then reads its checkpoints.",
            icon=":material/info:")
steps_list = [c.step for c in record.checkpoints]
step = top[0].select_slider("Checkpoint (meta-iteration)", steps_list, value=steps_list[-1], key="adapt.step")
ckpt = record.at(step)
cfg, kind = ckpt.config, tasks.get(ckpt.config.task).kind
heavy = an.heavy(cfg, ckpt.learner)  # a conv net on the CPU: fewer tasks and steps by default
N_TASKS = 5 if heavy else N_TASKS
inner = top[1].slider("Inner steps", 1, 20, 5 if heavy else 10, key="adapt.inner")
newer = f" The run has reached meta-iteration {fresh.checkpoints[-1].step}: press Refresh." \
    if fresh is not None and fresh.checkpoints[-1].step > steps_list[-1] else ""
st.caption(f"{learners.get(cfg.learner).title} on {tasks.get(cfg.task).title}, parameters from meta-iteration "
           f"{ckpt.step} (run {record.status} when read); each comparison adapts every learner on the same "
           f"{N_TASKS} held-out tasks (seed {cfg.seed}){' (few: image tasks on the CPU)' * heavy}.{newer}")


try:
    if kind == "regression":
        st.subheader("The fit after each inner step, against the baselines")
        states = an.comparison_states(ckpt, [cfg.learner, "pretrained", "scratch"], brief)
        if st.button("New held-out task", icon=":material/casino:", key="adapt.task"):
            state.next_task_seed()
        fits = run("adaptation_curves", cfg, states, task_seed=state.task_seed(), steps=inner)
        st.plotly_chart(fig.adaptation_figure(fits, "adapt-fit"), key="adapt-fit")
        curves = run("step_curves", cfg, states, n_tasks=N_TASKS, steps=inner)
        st.plotly_chart(fig.step_curves_figure(curves, "loss"), key="adapt-loss")
    else:
        st.subheader("Query accuracy against inner steps and shots")
        options = learners.available(kind)
        ticked = st.multiselect("Learners to compare", options, default=list(dict.fromkeys([cfg.learner, "pretrained",
                                "scratch"])), format_func=lambda n: learners.get(n).title, key="adapt.learners")
        st.caption(f"Learners your run did not train are meta-trained here briefly ({BRIEF_STEPS} meta-iterations "
                   "on the same tasks and seed, cached): a comparison, not their best. Scratch never trains.")
        if ticked:
            shots = sorted({1, 5, 10, cfg.task_config.k_shot})
            states = an.comparison_states(ckpt, ticked, brief)
            curves = run("shot_curves", cfg, states, shots=shots, n_tasks=N_TASKS, steps=inner)
            st.plotly_chart(fig.steps_by_shots_figure(curves), key="adapt-steps-shots")
            st.plotly_chart(fig.shots_figure(curves, inner), key="adapt-shots")
except ValueError as error:
    st.error(str(error), icon=":material/error:")

st.subheader("How far each layer moved during adaptation")
if learners.get(cfg.learner).has_inner_loop:
    relative = st.toggle("Relative to the layer's norm", True, key="adapt.relative")
    first = record.checkpoints[0]
    changes = {f"meta-iteration {c.step}": run("layer_changes", c.config, c.learner, n_tasks=N_TASKS, steps=inner)
               for c in ([first, ckpt] if first.step != ckpt.step else [ckpt])}
    st.plotly_chart(fig.layer_changes_figure(changes, relative, cfg.learner), key="adapt-layers")
    now = list(changes.values())[-1].relative[:, -1]
    st.caption(f"After {inner} inner steps the head moved {now[-1]:.1%} of its norm, the body layers "
               f"{', '.join(f'{v:.1%}' for v in now[:-1])}. Raghu et al. (2020) found that after MAML's "
               "meta-training the body's representations barely change in the inner loop while the head's do "
               "(*feature reuse*; they compared representations by CCA, the weight norms here are a simpler "
               "proxy), which is why ANIL adapts the head alone: with ANIL the body's bars are exactly zero.")
else:
    st.caption(f"{learners.get(cfg.learner).title} reads the support set in one pass: no weight moves when it adapts.")

st.subheader("Meta-overfitting")
metric = "loss" if kind == "regression" else "accuracy"
own = an.overfit_from_evals(record.evals, metric)
st.caption("At meta-iteration 0 neither set of tasks has been trained on, so the gap there is only the difference "
           "between two samples of tasks; meta-overfitting is the gap growing as training goes on.")
if own is not None:
    st.plotly_chart(fig.overfitting_figure({"this run": own}, "adapt-own-overfit"), key="adapt-own-overfit")
else:
    st.caption("This run does not evaluate its meta-training tasks: turn on *Also evaluate on meta-training "
               "tasks* in the Train page's training settings, or compare two short runs here.")
left, mid, right = st.columns([1, 1, 1], vertical_alignment="bottom")
distinct = left.number_input("Distinct meta-training tasks", 1, 5000, 5, key="adapt.distinct")
budget = mid.number_input("Meta-iterations", 50, 5000, 300, step=50, key="adapt.budget")
pair = pair_workers()
if right.button("Compare in the background", icon=":material/play_arrow:", key="adapt.compare",
                disabled=any(w.snapshot().live for w in pair),
                help="Two short runs of this learner in background threads of this session (same seed and budget; "
                "only the number of distinct meta-training tasks differs): the page stays usable meanwhile."):
    sent = [w.start(c) for w, c in zip(pair, an.overfit_configs(cfg, int(distinct), int(budget)))]
    [w.sync(i) for w, i in zip(pair, sent)]
    st.rerun()  # redraw with the polling timer on
live = any(w.snapshot().live for w in pair)


@st.fragment(run_every=1.0 if live else None)
def comparison() -> None:
    snaps = [w.snapshot() for w in pair]
    curves = {f"{s.config.train.distinct_tasks or 'unlimited'} distinct tasks ({s.step}/{s.config.train.n_steps})":
              an.overfit_from_evals(s.evals, metric) for s in snaps if s.config is not None}
    if len(curves) == 2 and all(c is not None for c in curves.values()):
        st.plotly_chart(fig.overfitting_figure(curves, "adapt-pair"), key="adapt-pair")
    if any(s.status in ("error", "diverged") for s in snaps):
        st.error(next(s.message for s in snaps if s.status in ("error", "diverged")), icon=":material/error:")
    if live and not any(s.live for s in snaps):
        st.rerun()


comparison()
