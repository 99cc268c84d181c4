"""Task Builder: build a distribution of tasks, look at its tasks, and shift its meta-test tasks."""

import dataclasses

import streamlit as st

from metaviz import learners, tasks
from metaviz.analysis.tasks import class_split, preview
from metaviz.figures.tasks import image_grid, label_color, preview_figure, split_figure
from ui import code, forms, state
from ui.router import ensure_router

ensure_router()

st.title("Task Builder")
st.markdown("A **task** is a small learning problem: a *support set* to learn from and a *query set* to be "
            "scored on. Meta-learning trains on many tasks from one distribution and is tested on new ones. "
            "Build the distribution here; the **Train** page trains on exactly this setup.")

config = state.run_config()
names = tasks.available()
family = st.selectbox("Task family", names, index=names.index(config.task), key="builder.family",
                      format_func=lambda n: tasks.get(n).title or n)
cls = tasks.get(family)
settings, view = st.columns([1, 2.4], gap="large")
with settings:
    current = config.task_config if config.task == family else cls.Config()
    task_config = forms.config_form(current, f"task.{family}")
    shifted = st.toggle("A different meta-test distribution", value=config.test_task_config is not None
                        and config.task == family, key="builder.shift",
                        help="Meta-test on tasks from another distribution (sine amplitudes 5 to 10, other "
                             "digits, ...) and watch the gap on the Train page.")
    test_config = None
    if shifted:
        st.markdown("**Meta-test distribution**")
        base = config.test_task_config if config.task == family and config.test_task_config else task_config
        test_config = forms.config_form(base, f"testtask.{family}")
learner = config.learner if config.learner in learners.available(cls.kind) else learners.available(cls.kind)[0]
state.set_run_config(dataclasses.replace(config, task=family, task_config=task_config, test_task_config=test_config,
                                         learner=learner,
                                         learner_config=None if learner != config.learner else config.learner_config))

with view:
    split = st.segmented_control("Split", ["train", "val", "test"], default="train", key="builder.split",
                                 format_func={"train": "meta-train", "val": "meta-validation",
                                              "test": "meta-test"}.get)
    if st.button("Sample other tasks", icon=":material/casino:", key="builder.resample"):
        st.session_state["builder.seed"] = st.session_state.get("builder.seed", 0) + 1
    use = test_config if split == "test" and test_config is not None else task_config
    try:
        p = preview(family, use, split or "train", n_tasks=3, seed=st.session_state.get("builder.seed", 0))
    except (ValueError, FileNotFoundError) as error:
        st.error(str(error))
        st.stop()
    if p.is_image:
        n_way = use.n_way
        for t in range(p.support_x.shape[0]):
            st.markdown(f"**Task {t + 1}**" + (": " + ", ".join(
                f"<span style='color:{label_color(i)}'>label {i} = {n}</span>" for i, n in
                enumerate(p.class_names[t])) if p.class_names else ""), unsafe_allow_html=True)
            left, right = st.columns([1, 2])
            left.image(image_grid(p.support_x[t], p.support_y[t], n_way), caption=f"support: {use.k_shot} per class",
                       width="content")
            right.image(image_grid(p.query_x[t], p.query_y[t], n_way), caption=f"query: {use.n_query} per class",
                        width="content")
    else:
        st.plotly_chart(preview_figure(p), key="builder-preview")
    split_info = class_split(family, task_config)
    if split_info is not None:
        st.markdown("**Classes by split** (hover for names): meta-training never sees a meta-test class.")
        st.plotly_chart(split_figure(split_info), key="builder-split")
    st.page_link("pages/train.py", label="Train on this setup", icon=":material/play_arrow:")
    code.explain(cls)
