"""Contracts that every task family and every meta-learner must meet, over the whole registries."""

import dataclasses
import importlib

import pytest
import torch

from metaviz import learners, tasks
from metaviz.config import Config
from metaviz.registry import classes_in, plugin_modules
from metaviz.train import Run, RunConfig, TrainConfig, build_learner, train


@pytest.mark.parametrize("package,base", [("metaviz.tasks", tasks.TaskDistribution),
                                          ("metaviz.learners", learners.MetaLearner)])
def test_each_plugin_module_contributes_exactly_one_class(package, base):
    modules = plugin_modules(package)
    assert modules
    for module in modules:
        assert len(classes_in(module, base)) == 1, module.__name__
    names = [classes_in(m, base)[0].name for m in modules]
    assert len(names) == len(set(names))


def test_available_lists_the_registered_names():
    assert "sinusoid" in tasks.available()
    assert {"maml", "pretrained"} <= set(learners.available("regression"))
    with pytest.raises(ValueError, match="available"):
        tasks.get("no-such-task")


def check_config_class(cls):
    """Frozen, defaults within their declared ranges, out-of-range values rejected, dict round trip."""
    assert issubclass(cls, Config) and cls.__dataclass_params__.frozen
    default = cls()
    for field, ui in cls.ui_fields():
        assert ui.label, field.name
        value = getattr(default, field.name)
        if ui.options is not None:
            assert value in ui.options
        elif not isinstance(value, bool) and isinstance(value, int | float):
            assert ui.min <= value <= ui.max, field.name
            if ui.max < float("inf"):
                with pytest.raises(ValueError):
                    dataclasses.replace(default, **{field.name: type(value)(ui.max * 2 + 1)})
    assert cls.from_dict(default.to_dict()) == default


@pytest.mark.parametrize("name", learners.available())
def test_learner_contract(name):
    cls = learners.get(name)
    assert cls.title and cls.family
    doc = importlib.import_module(cls.__module__).__doc__
    assert cls.__doc__ == doc and "Paper" in doc and "Update rule" in doc and "Idea" in doc
    check_config_class(cls.Config)

    task_name = next(t for t in tasks.available()
                     if tasks.get(t).kind in cls.kinds and tasks.get(t).input_kind() in cls.inputs)
    config = RunConfig(task=task_name, learner=name, train=TrainConfig(meta_batch=3, n_eval_tasks=4, eval_steps=2,
                                                                       hidden=8, eval_every=2, n_steps=4))
    learner = build_learner(config)
    before = {k: v.detach().clone() for k, v in learner.params.items()}
    batch = learner.task.sample(3, torch.Generator().manual_seed(0)).episode
    adapted = learner.adapt(learner.params, batch.support_x[0], batch.support_y[0])
    assert set(adapted.params) == set(learner.params)
    assert all(torch.equal(learner.params[k], before[k]) for k in before)  # adapt is pure

    run = Run(config)
    events = list(train(run, 4))
    assert run.step == 4 and events[-1].finished
    moved = any(not torch.equal(run.learner.params[k], before[k]) for k in before)
    assert moved == cls.meta_trains  # the outer step moves the meta-parameters (baselines may declare it does not)
    curves = run.learner.evaluate(run.eval_batch, 2)
    assert curves.loss.shape == (3,) and (curves.loss >= 0).all()
