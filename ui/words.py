"""The pages' words in the session's language: the ``text=`` (and ``names=``) overrides of the figure builders
that the lab pages (Task Builder, Adaptation, Loss Landscape, Embedding Space) and the lessons draw with, the state
of a run, what a loss landscape shows and the scores of an embedding picture.

The figure builders in ``metaviz.figures`` keep English defaults for the engine's own users; each function here
returns the catalogue's version of one builder's ``TEXT`` entry, so the builders fill the placeholders themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metaviz import learners
from ui.i18n import t

if TYPE_CHECKING:  # annotations only
    from metaviz.analysis.embedding import EmbeddingResult
    from metaviz.analysis.landscape import LandscapeConfig
    from metaviz.train import RunConfig

# ---- what a run's loss measures (TaskDistribution.metric) ---------------------------------------------------

METRIC_KEYS = {  # metric -> its words: a chart's title and axis, held-out after inner steps (and log), Runs' metric,
    # the Adaptation page's title and axis
    "loss": dict(title="fig_curves.loss_title", axis="fig_curves.loss", held_out="fig_curves.steps_loss",
                 held_out_log="fig_curves.steps_log", val="pg_runs.val_loss", steps_title="fig_adapt.steps_title_loss",
                 steps_axis="fig_adapt.steps_y_loss"),
    "minus_return": dict(title="pg_metric.minus_return.title", axis="pg_metric.minus_return.axis",
                         held_out="pg_metric.minus_return.held_out", held_out_log="pg_metric.minus_return.held_out_log",
                         val="pg_metric.minus_return.val", steps_title="pg_metric.minus_return.steps_title",
                         steps_axis="pg_metric.minus_return.held_out"),
    "regret": dict(title="pg_metric.regret.title", axis="pg_metric.regret.axis", held_out="pg_metric.regret.held_out",
                   held_out_log="pg_metric.regret.held_out_log", val="pg_metric.regret.val",
                   steps_title="pg_metric.regret.steps_title", steps_axis="pg_metric.regret.held_out"),
}
CURVE_KEYS = {"loss": "pg_metric.curve.loss", "val_loss": "pg_metric.curve.val_loss",  # Compare's curves, any metric
              "baseline_val_loss": "pg_metric.curve.baseline_val_loss", "test_loss": "pg_metric.curve.test_loss",
              "train_loss": "pg_metric.curve.train_loss"}


def metric_of(task: str | None) -> str:
    """What the runs of task family ``task`` call their loss (``"loss"`` for an unknown family or none)."""
    from metaviz import tasks

    return tasks.get(task).metric if task in tasks.available() else "loss"


def metric(task: str | None) -> dict[str, str]:
    """The words for the loss of ``task``'s runs: ``title``, ``axis``, ``held_out``, ``held_out_log``, ``val``,
    and the Adaptation page's ``steps_title`` and ``steps_axis``."""
    keys = METRIC_KEYS.get(metric_of(task), METRIC_KEYS["loss"])
    return {part: t(key) for part, key in keys.items()}


def curve_label(curve: str, metric_name: str) -> str | None:
    """Compare's label of a stored loss curve (``val_loss``...) for runs whose loss is ``metric_name``; None for
    plain losses and other curves, which keep their own labels."""
    if metric_name == "loss" or curve not in CURVE_KEYS or metric_name not in METRIC_KEYS:
        return None
    return t(CURVE_KEYS[curve], metric=t(METRIC_KEYS[metric_name]["axis"]))


# ---- metaviz.figures.tasks --------------------------------------------------------------------------------

def task_preview() -> dict[str, str]:
    """The words of :func:`metaviz.figures.tasks.preview_figure`."""
    return dict(task=t("fig_tasks.task"), truth=t("fig_tasks.truth"), support=t("fig_tasks.support"),
                query=t("fig_tasks.query"), point=t("fig_tasks.point"))


def task_split() -> dict[str, str]:
    """The words of :func:`metaviz.figures.tasks.split_figure`: the name of each split in its legend."""
    return dict(train=t("fig_tasks.split_train"), val=t("fig_tasks.split_val"), test=t("fig_tasks.split_test"),
                val_test=t("fig_tasks.split_val_test"), unused=t("fig_tasks.split_unused"))


# ---- metaviz.figures.adaptation ---------------------------------------------------------------------------

def learner_names() -> dict[str, str]:
    """Short legend names of the learners whose English one (``TITLES``) has words in it."""
    return {"pretrained": t("fig_adapt.name_pretrained"), "scratch": t("fig_adapt.name_scratch"),
            "learned_optimizer": t("fig_adapt.name_learned_optimizer"), "matching": t("fig_adapt.name_matching"),
            "siamese": t("fig_adapt.name_siamese"), "sequence": t("fig_adapt.name_sequence")}


def fit() -> dict[str, str]:
    return dict(panel=t("fig_adapt.fit_panel"), truth=t("fig_adapt.fit_truth"), before=t("fig_adapt.fit_before"),
                between=t("fig_adapt.fit_between"), after=t("fig_adapt.fit_after"),
                after_one=t("fig_adapt.fit_after_one"), support=t("fig_adapt.fit_support"))


def steps(task: str | None = None) -> dict[str, str]:
    """The words of ``step_curves_figure``; the loss named as ``task``'s runs name it (:func:`metric`)."""
    named = metric(task)
    return dict(title_loss=named["steps_title"], title_accuracy=t("fig_adapt.steps_title_accuracy"),
                x=t("fig_adapt.steps_x"), y_loss=named["steps_axis"],
                y_accuracy=t("fig_adapt.steps_y_accuracy"), chance=t("fig_adapt.chance"))


def by_shots() -> dict[str, str]:
    return dict(title=t("fig_adapt.by_shots_title"), shot=t("fig_adapt.shot"), x=t("fig_adapt.inner_steps"),
                y=t("fig_adapt.query_accuracy"), chance=t("fig_adapt.chance"))


def shots() -> dict[str, str]:
    return dict(title=t("fig_adapt.shots_title"), title_one=t("fig_adapt.shots_title_one"),
                x=t("fig_adapt.shots_x"), y=t("fig_adapt.query_accuracy"), chance=t("fig_adapt.chance"))


def layers() -> dict[str, str]:
    return dict(title=t("fig_adapt.layers_title"), left=t("fig_adapt.layers_left"),
                right=t("fig_adapt.layers_right"), x=t("fig_adapt.inner_steps"))


def overfit() -> dict[str, str]:
    return dict(title=t("fig_adapt.overfit_title"), train=t("fig_adapt.overfit_train"),
                heldout=t("fig_adapt.overfit_heldout"), x=t("fig_adapt.meta_iteration"),
                y_loss=t("fig_adapt.overfit_y_loss"), y_accuracy=t("fig_adapt.overfit_y_accuracy"))


# ---- metaviz.figures.landscape ----------------------------------------------------------------------------

def loss_label(run: RunConfig, lconfig: LandscapeConfig) -> str:
    """What the landscape's loss is, in words (:func:`metaviz.analysis.landscape.describe` in the session's
    language: a test keeps the two in step)."""
    which = t("fig_landscape.which_one") if lconfig.task >= 0 else t("fig_landscape.which_mean", n=lconfig.n_tasks)
    if lconfig.loss == "pre":
        return t("fig_landscape.label_pre", which=which)
    cls = learners.get(run.learner)
    if not cls.meta_trains or cls.family == "baseline":
        return t("fig_landscape.label_task", learner=run.learner, which=which)
    how = "fig_landscape.label_inner" if cls.has_inner_loop else "fig_landscape.label_support"
    return t(how, learner=run.learner, which=which)


def landscape(run: RunConfig, lconfig: LandscapeConfig) -> dict[str, str]:
    return dict(title=loss_label(run, lconfig), loss=t("fig_landscape.loss"), outer=t("fig_landscape.outer_full"),
                centre=t("fig_landscape.centre"), pc1=t("fig_landscape.pc1"), pc2=t("fig_landscape.pc2"),
                d1=t("fig_landscape.d1"), d2=t("fig_landscape.d2"), meta_iteration=t("fig_landscape.meta_iteration"),
                inner_step=t("fig_landscape.inner_step"), inner=t("fig_landscape.inner"),
                hover=t("fig_landscape.hover"), hover_share=t("fig_landscape.hover_share"))


def path_loss() -> dict[str, str]:
    return dict(title=t("fig_landscape.paths_title"), outer=t("fig_landscape.outer"), real=t("fig_landscape.real"),
                plane=t("fig_landscape.on_plane"), x=t("fig_landscape.meta_iteration"), y=t("fig_landscape.outer"),
                x2=t("fig_landscape.inner_step"), y2=t("fig_landscape.inner_loops"), inner=t("fig_landscape.inner"))


def toy() -> dict[str, str]:
    return dict(title=t("fig_landscape.toy_title"), meta=t("fig_landscape.toy_meta"),
                joint=t("fig_landscape.toy_joint"), task_loss=t("fig_landscape.toy_task_loss"),
                task_minimum=t("fig_landscape.toy_task_minimum"), inner=t("fig_landscape.toy_inner"),
                inner_one=t("fig_landscape.toy_inner_one"), maml=t("fig_landscape.toy_maml"),
                fomaml=t("fig_landscape.toy_fomaml"), reptile=t("fig_landscape.toy_reptile"),
                second=t("fig_landscape.toy_second"), theta=t("fig_landscape.toy_theta"),
                x=t("fig_landscape.toy_x"), y=t("fig_landscape.toy_y"), grid=t("fig_landscape.toy_grid"))


# ---- metaviz.figures.embedding ----------------------------------------------------------------------------

ROLES = {"support": "fig_embedding.support", "query": "fig_embedding.query", "prototype": "fig_embedding.prototype"}


def role(name: str) -> str:
    """A point's role (support, query, prototype) in words."""
    return t(ROLES[name]) if name in ROLES else name


def embedding() -> dict[str, str]:
    return dict(legend_support=t("fig_embedding.support"), legend_query=t("fig_embedding.query"),
                legend_prototype=t("fig_embedding.legend_prototype"), support=t("fig_embedding.support"),
                query=t("fig_embedding.query"), prototype=t("fig_embedding.prototype"),
                hover=t("fig_embedding.hover"), regions=t("fig_embedding.regions"),
                wrong=t("fig_embedding.wrong"), pc=t("fig_embedding.pc"), tsne=t("fig_embedding.tsne"))


def accuracy() -> dict[str, str]:
    return dict(full=t("fig_embedding.full"), plane=t("fig_embedding.plane"), own=t("fig_embedding.own"),
                full_own=t("fig_embedding.full_own"), chance=t("fig_embedding.chance"),
                x=t("fig_embedding.meta_iteration"), y=t("fig_embedding.query_accuracy"))


def scores(result: EmbeddingResult, learner: str) -> list[tuple[str, float, str]]:
    """(name, value, explanation) of each score ``result`` has (:meth:`EmbeddingResult.scores`, in words)."""
    rows = [(t("fig_embedding.full_score"), result.accuracy, t("fig_embedding.full_help")),
            (t("fig_embedding.plane_score"), result.plane_accuracy, t("fig_embedding.plane_help")),
            (t("fig_embedding.agree_score"), result.agreement, t("fig_embedding.agree_help")),
            (t("fig_embedding.own_score", learner=learner), result.learner_accuracy, t("fig_embedding.own_help"))]
    return [row for row in rows if row[1] is not None]


def rl_paths() -> dict[str, str]:
    """The words of ``metaviz.figures.rl.trajectory_figure`` (Meta-RL page and lesson 6e)."""
    return {"title": t("pg_rl.fig.paths.title"), "goal": t("pg_rl.fig.paths.goal"),
            "before": t("pg_rl.fig.paths.before"), "after": t("pg_rl.fig.paths.after"),
            "panel": t("pg_rl.fig.paths.panel"), "x": t("pg_rl.fig.paths.x"), "y": t("pg_rl.fig.paths.y")}


def rl_bandit() -> dict[str, str]:
    """The words of ``metaviz.figures.rl.bandit_figure``."""
    return {"regret": t("pg_rl.fig.bandit.regret"), "pulls": t("pg_rl.fig.bandit.pulls"),
            "x": t("pg_rl.fig.bandit.x"), "y_regret": t("pg_rl.fig.bandit.y_regret"),
            "y_arm": t("pg_rl.fig.bandit.y_arm"), "arm": t("pg_rl.fig.bandit.arm"),
            "ucb1": t("pg_rl.fig.bandit.ucb1"), "thompson": t("pg_rl.fig.bandit.thompson"),
            "gittins": t("pg_rl.fig.bandit.gittins")}
