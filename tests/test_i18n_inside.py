"""The "Look inside" pages in another language: Adaptation, Loss Landscape and Embedding Space.

Their figure builders take their words from ``text`` (and ``names``) over English defaults; ``ui.words`` hands them
the catalogue's; the English catalogue says what the code's defaults say (so English pages look as before); and
each page runs in Chinese with Chinese titles, axis titles and legends in its figures."""

import json
import time
from pathlib import Path

import numpy as np
import pytest
from apptests import train_in_session
from helpers import task_for
from streamlit.testing.v1 import AppTest

from metaviz import learners
from metaviz.analysis import adaptation as an
from metaviz.analysis import embedding as emb
from metaviz.analysis.landscape import LOSSES, LandscapeConfig, compute_landscape, default_run, describe, path_overlays
from metaviz.analysis.toy import ToyConfig, toy_surface, toy_update
from metaviz.figures import adaptation as fa
from metaviz.figures import embedding as fe
from metaviz.figures import landscape as fl
from metaviz.tasks.digits import DigitsConfig
from metaviz.train import RunConfig, TrainConfig, build_learner
from ui import i18n, status, words

APP = str(Path(__file__).resolve().parents[1] / "app.py")
ZH = i18n.catalogue("zh")


@pytest.fixture
def lang(monkeypatch):
    """Sets the language that ``ui.i18n.t`` answers in (outside a Streamlit session)."""
    def use(code: str) -> None:
        monkeypatch.setattr(i18n, "current", lambda: code)
    use("en")
    return use


def title(fig) -> str:
    return fig.layout.title.text


def names(fig) -> list[str]:
    return [trace.name for trace in fig.data if trace.name]


def step_curves() -> an.StepCurves:
    rng = np.random.default_rng(0)
    acc = {n: rng.random((4, 3)) for n in ("maml", "scratch")}
    return an.StepCurves(np.arange(3), acc, acc)


def shot_curves() -> an.ShotCurves:
    acc = {n: np.random.default_rng(1).random((2, 3, 4)) for n in ("maml", "pretrained")}
    return an.ShotCurves(np.array([1, 5]), np.arange(4), acc, acc, n_way=3)


def fit_result() -> an.AdaptationResult:
    x = np.linspace(-5, 5, 20)
    predictions = {"maml": np.stack([np.sin(x) * s for s in (0.0, 0.5, 0.8, 0.9, 1.0)])}
    mse = {"maml": np.array([1.0, 0.7, 0.6, 0.55, 0.5])}
    return an.AdaptationResult(x, np.sin(x), x[:3], np.sin(x[:3]), predictions, mse, {}, 0.01)


def layer_changes() -> an.LayerChanges:
    change = np.random.default_rng(2).random((3, 2, 4))
    change[..., 0] = 0.0
    return an.LayerChanges(("body", "head"), ("layer 1", "head"), np.array([False, True]), np.ones(2), change,
                           np.arange(4))


# ---- the English catalogue is the code's English --------------------------------------------------------

def test_the_english_catalogue_repeats_the_builders_defaults(lang):
    """The pages pass the catalogue's words: in English they are the builders' own, so an English page is drawn
    exactly as an engine user sees it (and the English tests' words hold)."""
    for given, kind, builder in [
            (words.fit(), "fit", fa), (words.steps(), "steps", fa), (words.by_shots(), "by_shots", fa),
            (words.shots(), "shots", fa), (words.layers(), "layers", fa), (words.overfit(), "overfit", fa),
            (words.path_loss(), "path_loss", fl), (words.toy(), "toy", fl), (words.embedding(), "embedding", fe),
            (words.accuracy(), "accuracy", fe)]:
        assert given == {k: builder.TEXT[kind][k] for k in given}, kind
    landscape = words.landscape(RunConfig(), LandscapeConfig())
    assert {k: v for k, v in landscape.items() if k != "title"} == \
        {k: fl.TEXT["landscape"][k] for k in landscape if k != "title"}
    assert words.learner_names() == {k: fa.TITLES[k] for k in words.learner_names()}


def test_the_loss_label_says_what_describe_says(lang):
    """``ui.words.loss_label`` rebuilds ``describe`` from the catalogue: the same words in English, for every
    learner, both losses, one task and the mean over tasks."""
    for name in learners.available():
        if not learners.get(name).kinds & {"regression", "classification"}:
            continue  # no loss landscape for reinforcement learning yet
        task = task_for(name)
        run = RunConfig(task=task, learner=name)
        for loss in LOSSES:
            for task_index in (-1, 2):
                lconfig = LandscapeConfig(loss=loss, task=task_index, n_tasks=5)
                assert words.loss_label(run, lconfig) == describe(run, lconfig)
    lang("zh")
    run = RunConfig()  # MAML on sine waves: the meta-loss after the inner loop
    assert words.loss_label(run, LandscapeConfig(n_tasks=5)) == ZH["fig_landscape.label_inner"].format(
        learner="maml", which=ZH["fig_landscape.which_mean"].format(n=5))


def test_the_embedding_scores_are_the_results_own_in_words(lang):
    result = emb.EmbeddingResult(np.zeros((3, 2)), np.array([0, 1, 0]), np.array(["support", "query", "prototype"]),
                                 ("a", "b"), accuracy=0.5, plane_accuracy=0.25, agreement=1.0, learner_accuracy=0.75)
    assert words.scores(result, "maml") == result.scores("maml")
    lang("zh")
    zh = words.scores(result, "maml")
    assert [row[1] for row in zh] == [0.5, 0.25, 1.0, 0.75]
    assert zh[0][0] == ZH["fig_embedding.full_score"] and zh[3][0] == ZH["fig_embedding.own_score"].format(
        learner="maml")
    assert words.role("query") == ZH["fig_embedding.query"] and status.label("done") == ZH["status.done"]


# ---- the overrides reach the figures ---------------------------------------------------------------------

def test_adaptation_figures_take_their_words_from_text(lang):
    lang("zh")
    short = words.learner_names()
    steps = fa.step_curves_figure(step_curves(), "accuracy", n_way=5, text=words.steps(), names=short)
    assert title(steps) == ZH["fig_adapt.steps_title_accuracy"].format(n=4)
    assert steps.layout.xaxis.title.text == ZH["fig_adapt.steps_x"]
    assert steps.layout.yaxis.title.text == ZH["fig_adapt.steps_y_accuracy"]
    assert names(steps) == ["MAML", ZH["fig_adapt.name_scratch"], ZH["fig_adapt.chance"].format(n=5)]

    small = fa.steps_by_shots_figure(shot_curves(), text=words.by_shots(), names=short)
    assert [a.text for a in small.layout.annotations] == ["MAML", ZH["fig_adapt.name_pretrained"]]
    assert title(small) == ZH["fig_adapt.by_shots_title"].format(shots="1, 5")
    assert small.layout.xaxis.title.text == ZH["fig_adapt.inner_steps"]
    assert small.data[0].hovertemplate.startswith("MAML, " + ZH["fig_adapt.shot"].format(k=1))
    shots = fa.shots_figure(shot_curves(), 1, text=words.shots(), names=short)
    assert title(shots) == ZH["fig_adapt.shots_title_one"].format(step=1)
    assert shots.layout.xaxis.title.text == ZH["fig_adapt.shots_x"]
    assert ZH["fig_adapt.name_pretrained"] in names(shots)

    fit = fa.adaptation_figure(fit_result(), text=words.fit(), names=short)
    assert fit.layout.annotations[0].text == ZH["fig_adapt.fit_panel"].format(name="MAML", before=1.0, after=0.5)
    assert {ZH["fig_adapt.fit_truth"], ZH["fig_adapt.fit_before"], ZH["fig_adapt.fit_support"].format(k=3),
            ZH["fig_adapt.fit_after"].format(name="MAML", n=4),
            ZH["fig_adapt.fit_after_one"].format(name="MAML", n=1)} <= set(names(fit))

    layers = fa.layer_changes_figure({"A": layer_changes()}, text=words.layers())
    assert title(layers) == ZH["fig_adapt.layers_title"]
    assert [a.text for a in layers.layout.annotations] == [ZH["fig_adapt.layers_left"].format(label="A"),
                                                           ZH["fig_adapt.layers_right"].format(n=3)]
    over = fa.overfitting_figure({"A": an.overfitting_curves([0, 5], [1.0, 0.5], [0.9, 0.8], "accuracy")},
                                 text=words.overfit())
    assert names(over) == [ZH["fig_adapt.overfit_train"], ZH["fig_adapt.overfit_heldout"]]
    assert over.layout.yaxis.title.text == ZH["fig_adapt.overfit_y_accuracy"]
    assert over.layout.xaxis.title.text == ZH["fig_adapt.meta_iteration"]


def test_landscape_figures_take_their_words_from_text(lang):
    config, trajectory = default_run(seed=0, n_steps=30, every=5)
    lconfig = LandscapeConfig(resolution=5, n_tasks=3, n_paths=2, path_steps=2)  # PCA of 7 checkpoints
    landscape = compute_landscape(config, trajectory, lconfig)
    paths = path_overlays(landscape, trajectory)
    lang("zh")
    text = words.landscape(config, lconfig)
    fig = fl.landscape_figure(landscape, paths, text=text)
    assert title(fig) == words.loss_label(config, lconfig) != landscape.label
    assert fig.layout.xaxis.title.text == ZH["fig_landscape.pc1"].format(share=float(landscape.plane.explained[0]))
    assert fig.data[0].colorbar.title.text == ZH["fig_landscape.loss"]
    outer = next(t for t in fig.data if t.name == ZH["fig_landscape.outer_full"])
    assert outer.text[0].startswith(ZH["fig_landscape.outer_full"] + "<br>" + ZH["fig_landscape.meta_iteration"])
    inner = [t.name for t in fig.data if t.name and t.name.startswith(ZH["fig_landscape.inner"][:4])]
    assert inner == [ZH["fig_landscape.inner"].format(i=i) for i in range(2)]
    assert [p.label for p in paths[1:]] == [fl.TEXT["landscape"]["inner"].format(i=i) for i in range(2)]  # in step
    surface = fl.landscape_figure(landscape, paths, "surface", text=text)
    assert surface.layout.scene.zaxis.title.text == ZH["fig_landscape.loss"]
    random = compute_landscape(config, trajectory, LandscapeConfig("random", resolution=5, n_tasks=3, n_paths=0))
    assert fl.landscape_figure(random, text=text).layout.yaxis.title.text == ZH["fig_landscape.d2"]

    along = fl.path_loss_figure(paths, text=words.path_loss())
    assert title(along) == ZH["fig_landscape.paths_title"]
    assert names(along)[:2] == [ZH["fig_landscape.real"].format(name=ZH["fig_landscape.outer"]),
                                ZH["fig_landscape.on_plane"].format(name=ZH["fig_landscape.outer"])]
    assert along.layout.xaxis2.title.text == ZH["fig_landscape.inner_step"]

    toy_config = ToyConfig()
    toy = fl.toy_figure(toy_surface(toy_config, resolution=11), toy_update(toy_config, (0.5, -1.0)), text=words.toy())
    assert title(toy) == ZH["fig_landscape.toy_title"].format(label=ZH["fig_landscape.toy_meta"])
    assert {ZH["fig_landscape.toy_maml"], ZH["fig_landscape.toy_fomaml"], ZH["fig_landscape.toy_reptile"],
            ZH["fig_landscape.toy_second"], ZH["fig_landscape.toy_inner_one"].format(i=1)} <= set(names(toy))
    assert toy.layout.xaxis.title.text == ZH["fig_landscape.toy_x"]


def test_embedding_figures_take_their_words_from_text(lang):
    config = RunConfig(task="digits", learner="protonet", task_config=DigitsConfig(n_way=3, k_shot=2, n_query=2),
                       train=TrainConfig(hidden=16, layers=2))
    params = build_learner(config).state_numpy()
    view = emb.TaskView("digits", config.task_config, "test", task_seed=1)
    frames = emb.embedding_frames(config, [(0, params), (4, params)], view, grid=10)
    lang("zh")
    result = frames.frames[-1]
    fig = fe.embedding_figure(result, text=words.embedding())
    share = int(result.axis_titles[0].split("(")[1].split("%")[0]) / 100
    assert fig.layout.xaxis.title.text == ZH["fig_embedding.pc"].format(i=1, share=share)
    assert {ZH["fig_embedding.support"], ZH["fig_embedding.query"], ZH["fig_embedding.legend_prototype"]} \
        <= set(names(fig))
    support = next(t for t in fig.data if t.name == ZH["fig_embedding.support"])
    assert support.hovertemplate == ZH["fig_embedding.hover"].format(
        name="%{customdata[1]}", role=ZH["fig_embedding.support"], nearest="%{customdata[3]}") + "<extra></extra>"
    assert fe.axis_title("t-SNE 2", words.embedding()) == ZH["fig_embedding.tsne"].format(i=2)
    assert fe.axis_title("something else", words.embedding()) == "something else"
    accuracy = fe.accuracy_figure(frames, text=words.accuracy())
    assert names(accuracy) == [ZH["fig_embedding.full_own"].format(learner="protonet"), ZH["fig_embedding.plane"],
                               ZH["fig_embedding.chance"].format(n=3)]
    assert accuracy.layout.yaxis.title.text == ZH["fig_embedding.query_accuracy"]


# ---- the pages in Chinese --------------------------------------------------------------------------------

def charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def chart_title(spec: dict) -> str:
    return (spec["layout"].get("title") or {}).get("text", "")


def axis_title(spec: dict, axis: str) -> str:
    return ((spec["layout"].get(axis) or {}).get("title") or {}).get("text", "")


def open_in_chinese(page: str, at: AppTest | None = None) -> AppTest:
    at = at or AppTest.from_file(APP, default_timeout=240)
    at.session_state[i18n.LANG] = "zh"
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_adaptation_page_in_chinese():
    at = open_in_chinese("pages/adaptation.py")
    assert at.title[0].value == ZH["pg_adapt.title"]
    assert any(i.value.startswith(ZH["pg_adapt.default_run"].split("{")[0]) for i in at.info)
    assert any(ZH["status.done"] in c.value for c in at.caption)
    specs = charts(at)
    titles = [chart_title(s) for s in specs]
    assert len(specs) == 4
    assert any(t.startswith(ZH["fig_adapt.steps_title_loss"].split("（")[0]) for t in titles)
    assert ZH["fig_adapt.layers_title"] in titles and ZH["fig_adapt.overfit_title"] in titles
    fit = specs[0]
    assert [a["text"].split("（")[0] for a in fit["layout"]["annotations"]] == \
        ["MAML", ZH["fig_adapt.name_pretrained"], ZH["fig_adapt.name_scratch"]]
    assert ZH["fig_adapt.fit_truth"] in [d.get("name") for d in fit["data"]]
    losses = next(s for s in specs if chart_title(s).startswith(ZH["fig_adapt.steps_title_loss"].split("（")[0]))
    assert axis_title(losses, "xaxis") == ZH["fig_adapt.steps_x"]
    overfit = next(s for s in specs if chart_title(s) == ZH["fig_adapt.overfit_title"])
    assert axis_title(overfit, "xaxis") == ZH["fig_adapt.meta_iteration"]
    assert [a["text"] for a in overfit["layout"]["annotations"]] == [ZH["pg_adapt.this_run"]]
    assert at.button(key="adapt.compare").label == ZH["pg_adapt.compare"]


def test_landscape_page_in_chinese():
    at = open_in_chinese("pages/landscape.py")
    assert at.title[0].value == ZH["pg_landscape.title"]
    assert [tab.label for tab in at.tabs] == [ZH["pg_landscape.tab_landscape"], ZH["pg_landscape.tab_toy"]]
    landscape, along, toy = charts(at)
    expected = ZH["fig_landscape.label_inner"].format(learner="maml",
                                                      which=ZH["fig_landscape.which_mean"].format(n=8))
    assert chart_title(landscape) == expected
    assert axis_title(landscape, "xaxis").startswith("PC 1（")
    assert ZH["fig_landscape.outer_full"] in [d.get("name") for d in landscape["data"]]
    assert chart_title(along) == ZH["fig_landscape.paths_title"]
    assert axis_title(along, "xaxis") == ZH["fig_landscape.meta_iteration"]
    assert chart_title(toy) == ZH["fig_landscape.toy_title"].format(label=ZH["fig_landscape.toy_meta"])
    assert ZH["fig_landscape.toy_maml"] in [d.get("name") for d in toy["data"]]
    assert any(c.value.startswith(expected + "。") for c in at.caption)
    assert any(m.value.startswith(ZH["pg_landscape.gradients"].split("{")[0]) for m in at.markdown)


def test_embedding_page_in_chinese():
    at = open_in_chinese("pages/embedding.py")
    assert at.title[0].value == ZH["pg_embedding.title"]
    assert any(m.label == ZH["fig_embedding.full_score"] for m in at.metric)
    picture, accuracy = charts(at)
    assert axis_title(picture, "xaxis").startswith("PC 1（")
    assert {ZH["fig_embedding.support"], ZH["fig_embedding.query"]} <= {d.get("name") for d in picture["data"]}
    assert axis_title(accuracy, "yaxis") == ZH["fig_embedding.query_accuracy"]
    assert ZH["fig_embedding.plane"] in [d.get("name") for d in accuracy["data"]]
    at.segmented_control(key="embedding.method").set_value("tsne")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(c.value == ZH["pg_embedding.tsne_caption"] for c in at.caption)
    assert axis_title(charts(at)[0], "xaxis") == ZH["fig_embedding.tsne"].format(i=1)



@pytest.mark.slow
def test_adaptation_page_in_chinese_after_a_short_classification_run():
    """The classification branch (learners to compare by their translated titles, accuracy against steps and
    shots) on the session's run."""
    at = train_in_session(RunConfig(task="blobs", train=TrainConfig(n_steps=10, eval_every=5, n_eval_tasks=5)))
    at = open_in_chinese("pages/adaptation.py", at)
    done = ZH["status.done"]
    deadline = time.monotonic() + 60
    while not any(done in c.value for c in at.caption):  # the page holds what it read until Refresh
        assert time.monotonic() < deadline, [c.value for c in at.caption]
        time.sleep(0.3)
        at.button(key="adapt.refresh").click()
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    picker = at.multiselect(key="adapt.learners")
    assert picker.label == ZH["pg_adapt.learners"]
    assert ZH["title.learners.pretrained"] in picker.options and ZH["title.learners.protonet"] in picker.options
    specs = charts(at)
    small = next(s for s in specs if chart_title(s).startswith(ZH["fig_adapt.by_shots_title"].split("（")[0]))
    assert [a["text"] for a in small["layout"]["annotations"]] == \
        ["MAML", ZH["fig_adapt.name_pretrained"], ZH["fig_adapt.name_scratch"]]
    assert axis_title(small, "xaxis") == ZH["fig_adapt.inner_steps"]
    assert any(chart_title(s).startswith(ZH["fig_adapt.shots_title"].split("（")[0]) for s in specs)
