"""The Learn section: every lesson in every language through the router (AppTest), the way into the lab, and the
computations and figures behind the lessons against references they do not share code with."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from apptests import open_lesson
from streamlit.testing.v1 import AppTest
from torch.func import functional_call

from metaviz import learners, tasks
from metaviz.analysis import lessons as L
from metaviz.analysis.adaptation import heldout_batch
from metaviz.figures import lessons as F
from metaviz.train import RunConfig, TrainConfig, build_learner
from ui import i18n
from ui.lesson import LESSONS

APP = str(Path(__file__).resolve().parents[1] / "app.py")
# the two lessons that meta-train slow learners open here on a smaller budget (their defaults: the slow test)
SMALL_BUDGET = {"pages/learn/05d_memory.py": {"learn-5d-steps": 100},
                "pages/learn/05e_task_embedding.py": {"learn-5e-steps": 300}}


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


# ordered so that each lesson's second language finds the first one's results in the cache
CASES = [(path, lang) for path, *_ in LESSONS for lang in i18n.languages()]


@pytest.mark.parametrize(("page", "lang"), CASES, ids=[f"{Path(p).stem}-{lang}" for p, lang in CASES])
def test_every_lesson_opens_with_its_figure_in_every_language(page, lang):
    """In English as it is; in the other languages in presenter mode (ui.presenter), without the sidebar."""
    presenting = lang != i18n.DEFAULT
    at = open_lesson(page, lang, SMALL_BUDGET.get(page), **({"present": "1"} if presenting else {}))
    assert bool(at.sidebar.children) != presenting
    title_key = next(key for path, key, *_ in LESSONS if path == page).replace("nav.", "") + ".title"
    assert at.title[0].value == i18n.catalogue(lang)[title_key]
    specs = chart_specs(at)
    assert specs and all(spec["data"] for spec in specs), "the lesson opens showing a result"
    assert at.button(key="lesson-lab") is not None  # the way into the lab
    assert at.info and i18n.catalogue(lang)["lesson.try"] in at.info[0].value
    handouts = [b.proto.label for b in at.get("download_button")]  # the handout (ui.handout); not on a projector
    assert handouts == ([] if presenting else [i18n.catalogue(lang)["lesson.handout"]])


@pytest.mark.slow
@pytest.mark.parametrize("page", list(SMALL_BUDGET))
def test_slow_lessons_at_their_default_budget(page):
    at = open_lesson(page, "en")
    assert chart_specs(at)


@pytest.mark.parametrize("page", ["pages/learn/02_tasks.py", "pages/learn/03_meta_testing.py",
                                  "pages/learn/05c_metric.py", "pages/learn/06d_task_sources.py",
                                  "pages/learn/07_your_data.py"])
def test_lessons_without_omniglot_fall_back_to_digits(page, monkeypatch):
    """Omniglot's files are not everywhere: the lessons that show characters use scikit-learn's digits then."""
    from metaviz.analysis import embedding

    monkeypatch.setattr(embedding, "omniglot_available", lambda: False)
    at = open_lesson(page, "en")
    if page.endswith("07_your_data.py"):
        assert at.info[0].value == i18n.catalogue("en")["l7.no_data"]
    else:
        assert chart_specs(at)
    if page.endswith("03_meta_testing.py"):
        assert any(c.value == i18n.catalogue("en")["l3.caption_digits"] for c in at.caption)


def test_figures_of_shared_builders_are_translated():
    at = open_lesson("pages/learn/01_learning_to_learn.py", "zh")
    names = [trace.get("name", "") for trace in chart_specs(at)[0]["data"]]
    assert "真实函数" in names and "ground truth" not in names
    assert i18n.catalogue("zh")["fig_adapt.fit_support"].format(k=10) in names
    assert any("1 步之后" in name for name in names)


def test_open_in_the_lab_sets_up_the_train_page_and_the_url():
    at = open_lesson("pages/learn/05b_optimizer.py", "zh")
    at.button(key="lesson-lab").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    config = at.session_state["mv.run_config"]
    assert (config.task, config.learner, config.train.meta_batch) == ("sinusoid", "metasgd", 10)
    assert at.query_params["learner"] == "metasgd" and at.query_params["lang"] == "zh"
    assert any(s.label == "Meta-learner" and s.value == "metasgd" for s in at.selectbox)


def test_lessons_link_to_their_neighbours():
    at = open_lesson("pages/learn/06d_task_sources.py", "en")
    assert [link.proto.page for link in at.get("page_link")] == ["learn-6c", "learn-6e"]  # the url paths


# ---- computations --------------------------------------------------------------------------------------

def tiny(task="sinusoid", learner="maml", hidden=8, **learner_config) -> RunConfig:
    train = TrainConfig(hidden=hidden, n_steps=3, meta_batch=2, eval_every=3, n_eval_tasks=2, eval_steps=0,
                        baseline=False)
    return RunConfig(task=task, learner=learner, learner_config=learners.get(learner).Config(**learner_config),
                     device="cpu", train=train)


def test_gradient_parts_match_a_float64_hessian_vector_product():
    """For one inner step, MAML's meta-gradient of task i is g_FO - alpha H_S(theta) g_FO with g_FO the query
    gradient at theta' (Finn et al. 2017): computed here in float64 with an explicit Hessian-vector product."""
    config = tiny(inner_lr=0.05)
    state = build_learner(config).state_numpy()
    parts = L.maml_gradient_parts(config, state, n_tasks=3, seed=1)
    learner = build_learner(config)
    net, batch = learner.net.double(), heldout_batch(config, 3, 1).to("cpu", torch.float64)
    names = list(state)
    theta = [torch.tensor(state[k], dtype=torch.float64, requires_grad=True) for k in names]

    def loss(params, x, y):
        return torch.mean((functional_call(net, dict(zip(names, params)), (x,)) - y) ** 2)

    first, second = [torch.zeros_like(p) for p in theta], [torch.zeros_like(p) for p in theta]
    for i in range(3):
        sx, sy, qx, qy = (t[i] for t in batch)
        g_support = torch.autograd.grad(loss(theta, sx, sy), theta)
        adapted = [p - 0.05 * g for p, g in zip(theta, g_support)]
        g_query = torch.autograd.grad(loss(adapted, qx, qy), adapted)
        _, hvp = torch.autograd.functional.hvp(lambda *p: loss(list(p), sx, sy), tuple(theta), g_query)
        for j in range(len(theta)):
            first[j] += g_query[j] / 3
            second[j] += -0.05 * hvp[j] / 3
    layers = [k.rpartition(".")[0] for k in names]
    for parts_norms, reference in ((parts.first_order, first), (parts.second_order, second)):
        expected = [math.sqrt(sum(float((reference[j] ** 2).sum()) for j, layer in enumerate(layers) if layer == name))
                    for name in parts.layers]
        np.testing.assert_allclose(parts_norms, expected, rtol=2e-3)
    full = torch.cat([(a + b).reshape(-1) for a, b in zip(first, second)])
    fo = torch.cat([a.reshape(-1) for a in first])
    assert parts.cosine == pytest.approx(float(full @ fo / (full.norm() * fo.norm())), rel=2e-3)
    assert parts.full_norm == pytest.approx(float(full.norm()), rel=2e-3)


def test_gradient_parts_are_for_maml_only():
    with pytest.raises(ValueError, match="MAML's"):
        L.maml_gradient_parts(tiny(learner="reptile"), build_learner(tiny(learner="reptile")).state_numpy())


def test_step_sizes_group_meta_sgds_rates_by_layer():
    config = tiny(learner="metasgd", init_lr=0.03)
    state = build_learner(config).state_numpy()
    state["lr/head.bias"] = np.array([-0.5])
    sizes = L.step_sizes(state, 0.03)
    assert sizes.layers == ("body.0", "body.2", "head")
    head = sizes.values[2]
    assert len(head) == state["head.weight"].size + 1 and head.min() == -0.5
    assert sum(len(v) for v in sizes.values) == sum(v.size for k, v in state.items() if not k.startswith("lr/"))
    np.testing.assert_allclose(sizes.summary()[2, 2], 1 / len(head))  # fraction below zero
    with pytest.raises(ValueError, match="not Meta-SGD's"):
        L.step_sizes(build_learner(tiny()).state_numpy(), 0.01)


def test_reading_the_support_set_is_the_nearest_prototype_rule_for_protonet():
    """ProtoNet's prediction after reading K examples per class is argmin_k |f(x) - mean of class k|^2, with the
    means over the first K support examples of each class: computed here by hand on the grid."""
    config = RunConfig(task="blobs", learner="protonet", task_config=tasks.get("blobs").Config(n_way=3, k_shot=2),
                       device="cpu", train=TrainConfig(hidden=16))
    learner = build_learner(config)
    state = learner.state_numpy()
    reading = L.read_support(config, state, shots=(1, 3), task_seed=2, grid=12)
    assert reading.labels.shape == (2, 12, 12) and list(reading.shots) == [1, 3]
    embed = {k: torch.as_tensor(v) for k, v in state.items() if v.size}
    f = lambda x: functional_call(learner.net, embed, (torch.as_tensor(x, dtype=torch.float32),))  # noqa: E731
    yy, xx = np.meshgrid(reading.y, reading.x, indexing="ij")
    plane = np.stack([xx.ravel(), yy.ravel()], 1)
    with torch.no_grad():
        for i, k in enumerate(reading.shots):
            read = np.concatenate([np.flatnonzero(reading.support_y == c)[:k] for c in range(3)])
            assert np.bincount(reading.support_y[read], minlength=3).tolist() == [k] * 3
            means = torch.stack([f(reading.support_x[read][reading.support_y[read] == c]).mean(0) for c in range(3)])
            expected = torch.cdist(f(plane), means).argmin(1).reshape(12, 12).numpy()
            assert (reading.labels[i] == expected).mean() > 0.99  # ties at float precision aside
            queries = torch.cdist(f(reading.query_x), means).argmin(1).numpy()
            assert reading.accuracy[i] == pytest.approx((queries == reading.query_y).mean())


def test_reading_a_curve_is_invariant_to_the_order_of_the_points():
    config = tiny(learner="cnp")
    state = build_learner(config).state_numpy()
    reading = L.read_curve(config, state, shots=(1, 4), task_seed=3, grid=50)
    assert reading.mean.shape == (2, 50) and np.all(reading.std > 0)
    np.testing.assert_allclose(reading.mse, ((reading.mean - reading.truth) ** 2).mean(1), rtol=1e-5)
    learner = build_learner(config)
    learner.load_numpy(state)
    sx = torch.as_tensor(reading.support_x[:4, None])
    sy = torch.as_tensor(reading.support_y[:4, None])
    x = torch.as_tensor(reading.x[:, None])
    with torch.no_grad():
        reversed_ = learner.adapt(learner.params, sx.flip(0), sy.flip(0)).params
        np.testing.assert_allclose(learner.predict(reversed_, x)[:, 0].numpy(), reading.mean[1], atol=1e-5)
    with pytest.raises(ValueError, match="learner is maml"):
        L.read_curve(tiny(), build_learner(tiny()).state_numpy())


def test_task_vectors_are_a_pca_of_the_cnps_task_vectors():
    config = tiny(learner="cnp")
    state = build_learner(config).state_numpy()
    vectors = L.task_vectors(config, state, n_tasks=30)
    assert vectors.coords.shape == (30, 2) and 0 <= vectors.explained.sum() <= 1 + 1e-9
    variance = vectors.coords.var(0)
    assert variance[0] >= variance[1]  # the first component carries the most
    amp = tasks.get("sinusoid").Config()
    assert np.all((vectors.amplitude >= amp.amp_min) & (vectors.amplitude <= amp.amp_max))


def test_loss_by_amplitude_is_the_median_query_loss_per_band():
    """With steps = 0 and a network that outputs 0 everywhere, each band's loss is the median over its tasks of
    mean(y^2) on the query set, for tasks drawn from that band alone."""
    config = tiny()
    state = {k: np.zeros_like(v) for k, v in build_learner(config).state_numpy().items()}
    edges = (0.5, 1.0, 6.0)
    curves = L.loss_by_amplitude(config, {"maml": state}, edges, n_tasks=5, steps=0, seed=4)
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        shifted = tasks.get("sinusoid").Config(amp_min=a, amp_max=b)
        batch = heldout_batch(config, 5, 4 + i, task_config=shifted)
        per_task = (batch.query_y ** 2).mean((1, 2))
        assert curves.loss["maml"][i] == pytest.approx(float(per_task.median()), rel=1e-5)
        assert float(batch.query_y.abs().max()) <= b
    # the reference: E[A^2] / 2 for A uniform on [a, b], checked by quadrature
    grid = np.linspace(1.0, 6.0, 100_001)
    assert curves.reference[1] == pytest.approx(np.mean(grid ** 2) / 2, rel=1e-4)
    assert list(curves.centres) == [0.75, 3.5] and curves.train_range == (0.1, 5.0)


def test_saved_memory_counts_what_autograd_keeps_and_frees():
    x = torch.randn(1000, requires_grad=True)
    w = torch.randn(1000, requires_grad=True)

    def twice():
        for _ in range(2):  # the first graph is freed before the second is built: the peak is one graph
            (x * w).sum().backward()

    assert L.saved_memory(lambda: (x * w).sum().backward()) == x.nbytes + w.nbytes
    assert L.saved_memory(twice) == x.nbytes + w.nbytes
    shared = x.detach().requires_grad_()
    assert L.saved_memory(lambda: (shared * shared).sum().backward()) == shared.nbytes  # one storage, once


def test_compute_cost_ranks_second_order_above_first_order():
    few = L.compute_cost("sinusoid", tasks.get("sinusoid").Config(), inner_steps=1, meta_batch=2, device="cpu",
                         repeats=1)
    many = L.compute_cost("sinusoid", tasks.get("sinusoid").Config(), inner_steps=4, meta_batch=2, device="cpu",
                          repeats=1)
    assert few.methods == ("maml", "fomaml", "reptile")  # ProtoNet does not do regression
    i, j = few.methods.index("maml"), few.methods.index("fomaml")
    assert few.saved_mib[i] > few.saved_mib[j]
    assert many.saved_mib[i] > 2 * few.saved_mib[i]          # the graph of every inner step is kept
    assert many.saved_mib[j] == pytest.approx(few.saved_mib[j])  # one step's worth, however many steps
    assert np.all(few.seconds > 0) and few.cuda_peak_mib is None


def test_class_sets():
    assert L.log10_class_sets(30, 5) == pytest.approx(math.log10(math.comb(30, 5)))
    assert L.log10_class_sets(5, 5) == 0.0 and L.log10_class_sets(4, 5) == -math.inf
    assert L.meta_train_classes("digits", tasks.get("digits").Config()) == 5
    with pytest.raises(ValueError, match="not built on classes"):
        L.meta_train_classes("sinusoid", tasks.get("sinusoid").Config())


# ---- figures -----------------------------------------------------------------------------------------------

def test_figures_carry_their_data_and_their_words():
    config = tiny()
    state = build_learner(config).state_numpy()
    curves = L.loss_by_amplitude(config, {"maml": state, "pretrained": state}, (0.1, 2.0, 4.0), n_tasks=2)
    fig = F.shift_figure(curves, {"maml": "MAML"}, text={"zero": "预测 y = 0"})
    assert [t.name for t in fig.data] == ["MAML", "pretrained", "预测 y = 0"]
    np.testing.assert_allclose(fig.data[2].y, curves.reference)
    rows = [("a", 5, L.log10_class_sets(5, 2)), ("b", 1, L.log10_class_sets(1, 2))]
    bars = F.class_sets_figure(rows, 2).data[0]
    np.testing.assert_allclose(bars.x, [math.log10(10), 0.0])  # fewer classes than N: no task, drawn as 0
    reading = L.read_support(RunConfig(task="blobs", learner="protonet", device="cpu", train=TrainConfig(hidden=8)),
                             build_learner(RunConfig(task="blobs", learner="protonet", train=TrainConfig(hidden=8)))
                             .state_numpy(), shots=(1, 2), grid=10)
    heat = [t for t in F.reading_figure(reading, 1).data if t.type == "heatmap"]
    assert len(heat) == reading.n_way  # one layer per class, each NaN where another class wins
    covered = sum(np.isfinite(np.asarray(h.z, float)) for h in heat)
    assert np.all(covered == 1)


def test_lesson_pages_are_registered_and_never_import_torch():
    import ast

    root = Path(APP).parent
    files = sorted((root / "pages" / "learn").glob("*.py"))
    assert sorted(str(f.relative_to(root)) for f in files) == sorted(path for path, *_ in LESSONS)
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        roots = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        roots |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not roots & {"torch", "functorch"}, path.name
        assert "ensure_router()" in path.read_text(encoding="utf-8"), path.name
