"""Task Builder: build a distribution of tasks, look at its tasks, and shift its meta-test tasks."""

import dataclasses
from html import escape

import streamlit as st

from metaviz import learners, tasks
from metaviz.analysis.tasks import class_split, preview
from metaviz.figures.tasks import image_grid, label_color, preview_figure, split_figure
from ui import code, forms, state, words
from ui.i18n import t, title
from ui.router import ensure_router

ensure_router()
SPLIT_KEYS = {"train": "pg_tasks.split_train", "val": "pg_tasks.split_val", "test": "pg_tasks.split_test"}

st.title(t("pg_tasks.title"))
st.markdown(t("pg_tasks.intro"))

config = state.run_config()
names = {n: title(tasks.get(n)) for n in tasks.available()}  # labels looked up now, not by a later format_func
family = st.selectbox(t("pg_tasks.family"), list(names), index=list(names).index(config.task),
                      key="builder.family", format_func=names.__getitem__)
cls = tasks.get(family)
settings, view = st.columns([1, 2.4], gap="large")
with settings:
    current = config.task_config if config.task == family else cls.Config()
    task_config = forms.config_form(current, f"task.{family}")
    shifted = st.toggle(t("pg_tasks.shift"), value=config.test_task_config is not None and config.task == family,
                        key="builder.shift", help=t("pg_tasks.shift_help"))
    test_config = None
    if shifted:
        st.markdown(f"**{t('pg_tasks.test_distribution')}**")
        base = config.test_task_config if config.task == family and config.test_task_config else task_config
        test_config = forms.config_form(base, f"testtask.{family}")
learner = config.learner if config.learner in learners.available(cls.kind) else learners.available(cls.kind)[0]
state.set_run_config(dataclasses.replace(config, task=family, task_config=task_config, test_task_config=test_config,
                                         learner=learner,
                                         learner_config=None if learner != config.learner else config.learner_config))

with view:
    splits = {s: t(key) for s, key in SPLIT_KEYS.items()}
    split = st.segmented_control(t("pg_tasks.split"), list(splits), default="train", key="builder.split",
                                 format_func=splits.__getitem__)
    if st.button(t("pg_tasks.resample"), icon=":material/casino:", key="builder.resample"):
        st.session_state["builder.seed"] = st.session_state.get("builder.seed", 0) + 1
    use = test_config if split == "test" and test_config is not None else task_config
    try:
        p = preview(family, use, split or "train", n_tasks=3, seed=st.session_state.get("builder.seed", 0))
    except (ValueError, FileNotFoundError) as error:
        st.error(str(error))
        st.stop()
    if p.is_image:
        n_way = use.n_way
        for i in range(p.support_x.shape[0]):
            labels = [f"<span style='color:{label_color(j)}'>{t('pg_tasks.label', j=j, name=escape(str(n)))}</span>"
                      for j, n in enumerate(p.class_names[i])] if p.class_names else []
            st.markdown(f"**{t('pg_tasks.task', i=i + 1)}**" + (t("pg_tasks.colon") + t("pg_tasks.sep").join(labels)
                                                                if labels else ""), unsafe_allow_html=True)
            left, right = st.columns([1, 2])
            left.image(image_grid(p.support_x[i], p.support_y[i], n_way), width="content",
                       caption=t("pg_tasks.support_caption", k=use.k_shot))
            right.image(image_grid(p.query_x[i], p.query_y[i], n_way), width="content",
                        caption=t("pg_tasks.query_caption", q=use.n_query))
    else:
        st.plotly_chart(preview_figure(p, text=words.task_preview()), key="builder-preview")
    split_info = class_split(family, task_config)
    if split_info is not None:
        st.markdown(t("pg_tasks.classes_by_split"))
        st.plotly_chart(split_figure(split_info, text=words.task_split()), key="builder-split")
    st.page_link("pages/train.py", label=t("pg_tasks.to_train"), icon=":material/play_arrow:")
    code.explain(cls)
