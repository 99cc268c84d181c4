"""What every lesson shares: the list of lessons, their layout and the way into the lab.

A lesson page is one idea: a title and a few paragraphs from the catalogue (:func:`header`), one live figure
with a couple of controls (computed by ``metaviz`` and cached by those controls, so the page opens showing a
result), a "try this" prompt (:func:`try_this`), an "open this setup in the lab" button (:func:`lab_link`), the
papers (:func:`papers`) and links to the previous and next lessons (:func:`footer`).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlencode

import plotly.graph_objects as go
import streamlit as st

from metaviz.figures import light
from metaviz.train import RunConfig, TrainConfig
from ui import handout, share, state
from ui.i18n import current, t

LESSONS = (  # page file, navigation title key, icon, url path
    ("pages/learn/01_learning_to_learn.py", "nav.l1", ":material/school:", "learn-1"),
    ("pages/learn/02_tasks.py", "nav.l2", ":material/dataset:", "learn-2"),
    ("pages/learn/03_meta_testing.py", "nav.l3", ":material/call_split:", "learn-3"),
    ("pages/learn/04_bilevel.py", "nav.l4", ":material/sync:", "learn-4"),
    ("pages/learn/05a_initialization.py", "nav.l5a", ":material/start:", "learn-5a"),
    ("pages/learn/05b_optimizer.py", "nav.l5b", ":material/speed:", "learn-5b"),
    ("pages/learn/05c_metric.py", "nav.l5c", ":material/scatter_plot:", "learn-5c"),
    ("pages/learn/05d_memory.py", "nav.l5d", ":material/memory:", "learn-5d"),
    ("pages/learn/05e_task_embedding.py", "nav.l5e", ":material/hub:", "learn-5e"),
    ("pages/learn/06a_shift.py", "nav.l6a", ":material/trending_up:", "learn-6a"),
    ("pages/learn/06b_overfitting.py", "nav.l6b", ":material/replay:", "learn-6b"),
    ("pages/learn/06c_cost.py", "nav.l6c", ":material/timer:", "learn-6c"),
    ("pages/learn/06d_task_sources.py", "nav.l6d", ":material/source:", "learn-6d"),
    ("pages/learn/06e_meta_rl.py", "nav.l6e", ":material/smart_toy:", "learn-6e"),
    ("pages/learn/06f_theory.py", "nav.l6f", ":material/functions:", "learn-6f"),
    ("pages/learn/07_your_data.py", "nav.l7", ":material/draw:", "learn-7"),
    ("pages/learn/08_text.py", "nav.l8", ":material/chat:", "learn-8"),
    ("pages/learn/09_automl.py", "nav.l9", ":material/auto_awesome:", "learn-9"),
    ("pages/learn/10_applications.py", "nav.l10", ":material/public:", "learn-10"),
)
TRAIN_PAGE = "pages/train.py"
ROOT = Path(__file__).resolve().parents[1]  # the app's folder: LESSONS' paths are relative to it
PLOTLY_LATER = "mv.plotly_later"  # the light charts of this run, with their plotly figures
HANDOUT = "mv.handout"  # what the lesson on screen has shown so far, for its handout (ui.handout)


def pages() -> list[st.Page]:
    """The Learn section of the navigation, titled in the session's language."""
    return [st.Page(path, title=t(key), icon=icon, url_path=url) for path, key, icon, url in LESSONS]


def _index(page_file: str) -> int:
    name = Path(page_file).name
    return next(i for i, (path, *_) in enumerate(LESSONS) if Path(path).name == name)


def header(page_file: str, title_key: str, body_key: str) -> None:
    """The lesson's number, title and paragraphs. ``page_file``: the page's ``__file__``."""
    st.session_state[PLOTLY_LATER] = []  # a run that stopped early (an error) leaves none for the next
    number = LESSONS[_index(page_file)][3].removeprefix("learn-")
    total = int(LESSONS[-1][3].removeprefix("learn-").rstrip("abcde"))  # the last lesson's number
    st.caption(t("lesson.kicker", n=number, total=total))
    st.title(t(title_key))
    st.markdown(t(body_key))
    st.session_state[HANDOUT] = _handout(t(title_key))
    _keep("parts", ("", t(body_key)))


def _handout(title: str) -> dict:
    """The arguments of ``ui.handout.page`` for the lesson on screen, filled in as it draws."""
    return dict(lang=current(), title=title, parts=[], checks=[], answers_title=t("lesson.answers"))


def _keep(kind: str, value) -> None:
    st.session_state.setdefault(HANDOUT, _handout(""))[kind].append(value)


def chart(fig: go.Figure, key: str, where=st, **options) -> None:
    """The lesson's figure, drawn in ``where`` (a column or the page) and kept for the handout.

    A figure of lines and markers (``light.drawable``) is drawn as the light SVG chart first and becomes the
    plotly chart (hover, zoom) in :func:`footer`, once the rest of the lesson is on screen: the browser shows
    the light chart at once, while plotly's bundle takes about a second to load on a first visit."""
    _keep("parts", fig)
    if not light.drawable(fig):
        where.plotly_chart(fig, key=key, **options)
        return
    slot = where.empty()
    slot.markdown(light.from_figure(fig), unsafe_allow_html=True)  # ours, words escaped (st.html drops SVG)
    st.session_state.setdefault(PLOTLY_LATER, []).append((slot, fig, key, options))


def interactive() -> None:
    """Replace the light charts drawn so far in this run with their plotly figures."""
    for slot, fig, key, options in st.session_state.pop(PLOTLY_LATER, []):
        slot.plotly_chart(fig, key=key, **options)


def markdown(text: str, heading: str = "") -> None:
    """A paragraph of the lesson's text after its header's (under ``heading`` if given), drawn and kept for the
    handout."""
    if heading:
        st.subheader(heading)
    st.markdown(text)
    _keep("parts", (heading, text))


def try_this(key: str) -> None:
    _keep("parts", (t("lesson.try"), t(key)))
    st.info(f"**{t('lesson.try')}** {t(key)}", icon=":material/lightbulb:")


def checks_of(page_file: str) -> tuple[dict, ...]:
    """The self-checks of a lesson: the literal ``CHECKS = (...)`` in its file, read as data (``ast.literal_eval``
    runs nothing), for the pages that list other lessons' checks (the course handout)."""
    path = ROOT / page_file
    return _checks_in(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _checks_in(path: Path, mtime_ns: int) -> tuple[dict, ...]:  # parsed once per version of the file
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "CHECKS" for target in node.targets):
            return ast.literal_eval(node.value)
    raise ValueError(f"{path} has no CHECKS")


def check_parts(check: Mapping) -> tuple[str, list[str], str, str]:
    """A self-check in the session's words, as the handout takes it: question, options, the right one, why."""
    options = [t(key) for key in check["options"]]
    return t(check["question"]), options, options[check["right"]], t(check["why"])


def grade(check: Mapping, choice: int | None) -> bool | None:
    """Whether option ``choice`` (its index) of a self-check is the right answer; None while unanswered."""
    return None if choice is None else choice == check["right"]


def self_check(page_file: str, checks: Sequence[Mapping]) -> None:
    """The lesson's self-checks: each a question whose answer the live figure shows, answered here, with the
    explanation revealed once answered. A check is the lesson's own data (``CHECKS`` in its file): catalogue
    keys ``question``, ``options`` and ``why``, and ``right``, the index of the right option."""
    url = LESSONS[_index(page_file)][3]
    st.subheader(t("lesson.check_title"))
    for n, check in enumerate(checks, 1):
        shown = {i: t(key) for i, key in enumerate(check["options"])}  # looked up now (see ui.i18n.labels)
        _keep("checks", check_parts(check))
        choice = st.radio(t(check["question"]), list(shown), index=None, format_func=shown.__getitem__,
                          key=f"{url}-check-{n}")
        verdict = grade(check, choice)
        if verdict is not None:
            say = st.success if verdict else st.warning
            say(f"**{t('lesson.check_right' if verdict else 'lesson.check_wrong')}** {t(check['why'])}",
                icon=":material/check_circle:" if verdict else ":material/help:")


def papers(key: str) -> None:
    _keep("parts", (t("lesson.papers"), t(key)))
    if state.presenting():  # one idea per screen: the papers are for the handout, not the projector
        return
    st.caption(f"{t('lesson.papers')} {t(key)}")


def lab_url(config: RunConfig) -> str:
    """A link to the Train page with ``config`` in the URL (``ui.share.encode``) and the session's language."""
    params = share.encode(config) | {"lang": current()}
    here = (st.context.url or "").split("?")[0]  # this lesson's address: the Train page is its sibling
    base = here.rsplit("/", 1)[0] if "/" in here.removeprefix("http://").removeprefix("https://") else ""
    return f"{base}/train?{urlencode(params, safe=',*')}"


def lab_link(config: RunConfig, key: str = "lab", label_key: str = "lesson.open_lab") -> None:
    """"Open this setup in the lab": switches to the Train page with ``config`` set up there (and in the URL);
    below it the same setup as a link, to open in a new tab or to share."""
    config = dataclasses.replace(config, seed=state.seed())
    if st.button(t(label_key), icon=":material/science:", key=f"lesson-{key}", type="primary"):
        share.adopt(config)
        st.switch_page(TRAIN_PAGE, query_params=share.encode(config) | {"lang": current()})
    st.caption(t("lesson.lab_link", url=lab_url(config)))


def image(container, pixels, caption: str) -> None:
    """An image grid at its own size (st.image would stretch a small grid of characters to the column)."""
    container.image(pixels, caption=caption, width=int(pixels.shape[1]))


def footer(page_file: str) -> None:
    """Links to the previous and the next lesson (in presenter mode its bar links the course's steps instead)."""
    interactive()
    if state.presenting():
        return
    i = _index(page_file)
    kept = dict(st.session_state.get(HANDOUT, {}))  # this run's, taken now: the download runs in another thread
    if kept:
        st.download_button(t("lesson.handout"), lambda: handout.page(**kept), file_name=f"{LESSONS[i][3]}.html",
                           mime="text/html", icon=":material/print:", key="lesson-handout",
                           help=t("lesson.handout_help"), on_click="ignore")
    st.divider()
    left, right = st.columns(2)
    if i > 0:
        path, key, icon, _ = LESSONS[i - 1]
        left.page_link(path, label=f"{t('lesson.previous')} {t(key)}", icon=":material/arrow_back:")
    if i + 1 < len(LESSONS):
        path, key, icon, _ = LESSONS[i + 1]
        right.page_link(path, label=f"{t('lesson.next')} {t(key)}", icon=":material/arrow_forward:")


# ---- a lesson's own words on a shared builder's figure ------------------------------------------------------

def relabel(fig: go.Figure, title: str | None = None, x: str | None = None, y: str | None = None) -> go.Figure:
    """A figure from a shared builder with the title and axis titles that the lesson says differently (what is
    passed) put in. The builder's own words (legend names, panel titles) come in through its ``text=``
    (:mod:`ui.words`)."""
    if title is not None:
        fig.update_layout(title_text=title)
    if x is not None:
        fig.update_xaxes(title_text=x)
    if y is not None:
        fig.layout.yaxis.title = dict(text=y)  # the first (left) y axis only: subplots share it
    return fig


# ---- the runs several lessons share ----------------------------------------------------------------------

SINE_STEPS = (0, 50, 100, 200, 400)
SINE_DEFAULT = 200  # the Home page's budget: MAML clearly ahead after one step, a few seconds on the CPU


def sine_config(seed: int, n_steps: int = SINE_DEFAULT, meta_batch: int = 10) -> RunConfig:
    """MAML on sine waves with the pretrained baseline beside it: the lessons' small default run."""
    return RunConfig(task="sinusoid", learner="maml", seed=seed, device="cpu",
                     train=TrainConfig(n_steps=max(n_steps, 1), meta_batch=meta_batch, meta_lr=0.01,
                                       eval_every=max(n_steps, 1), n_eval_tasks=1, eval_steps=0))


@st.cache_data(show_spinner=False, max_entries=16)
def sine_run(seed: int, n_steps: int = SINE_DEFAULT):
    """MAML and the pretrained baseline after ``n_steps`` meta-iterations on sine waves, and the never-trained
    start ("scratch"), as a ``metaviz.analysis.lessons.Trained``."""
    from metaviz.analysis.adaptation import initial_state
    from metaviz.analysis.lessons import Trained, train_states

    config = sine_config(seed, n_steps)
    if n_steps == 0:
        start = initial_state(config)
        trained = Trained({"maml": start, "pretrained": initial_state(config, "pretrained")}, 0.0, "cpu")
    else:
        trained = train_states({"maml": config}, baseline_of="maml")
    trained.states["scratch"] = initial_state(config, "scratch")
    return trained


def lab_config(config: RunConfig) -> RunConfig:
    """A lesson's setup as the lab should get it: the lab's own budget and evaluation, the lesson's learner,
    task, meta-batch and network."""
    c = config.train
    train = dataclasses.replace(TrainConfig(), meta_batch=c.meta_batch, meta_lr=c.meta_lr, hidden=c.hidden,
                                layers=c.layers, distinct_tasks=c.distinct_tasks, baseline=c.baseline)
    return dataclasses.replace(config, train=train, device="auto")
