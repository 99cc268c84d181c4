"""The Meta-RL page: Start trains an RL run live through the session worker; the trajectories (navigation)
and the bandit trial against UCB1 and Thompson sampling appear once a checkpoint is published, in Chinese too."""

import json

import pytest
from apptests import open_page, wait_for
from test_i18n_pages import english_sentences, shown_texts


def charts(at) -> dict[str, dict]:
    out = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        out[chart.proto.id] = spec
    return out


def has_chart(at, word: str) -> bool:
    return any(word in (d.get("name") or "") for spec in charts(at).values() for d in spec.get("data", []))


def test_meta_rl_page_trains_navigation_live_and_draws_trajectories_in_chinese():
    at = open_page("pages/meta_rl.py", lang="zh")
    assert not at.exception
    assert at.session_state["mv.run_config"].task == "navigation"
    at.button(key="start").click()
    at.run()
    wait_for(at, lambda a: has_chart(a, "目标"), timeout=120)  # the goal of the trajectory figure
    assert not at.error, [e.value for e in at.error]
    names = {d.get("name") for spec in charts(at).values() for d in spec.get("data", [])}
    assert {"适应之前", "1 步之后", "3 步之后"} <= names
    assert not [s for text in shown_texts(at) for s in english_sentences(text)]
    at.button(key="reset").click()
    at.run()


def test_meta_rl_page_draws_a_bandit_trial_against_ucb_thompson_and_gittins():
    at = open_page("pages/meta_rl.py")
    next(s for s in at.selectbox if s.label == "Environment").set_value("bandit")
    at.run()
    next(s for s in at.selectbox if s.label == "Meta-learner").set_value("rl2")
    at.run()
    assert at.session_state["mv.run_config"].learner == "rl2"
    at.button(key="start").click()
    at.run()
    wait_for(at, lambda a: has_chart(a, "Thompson sampling"), timeout=120)
    assert not at.error, [e.value for e in at.error]
    assert has_chart(at, "UCB1") and has_chart(at, "Gittins index")
    at.button(key="reset").click()
    at.run()


@pytest.mark.slow  # about 70 s on the shared cores: a run trained in the session, then the page's analyses
def test_the_adaptation_page_draws_an_rl_runs_cost_against_policy_gradient_steps():
    """An RL run on the Adaptation page: its learner and its pretrained policy after 0..S policy-gradient steps on
    the same held-out goals, named as the family names its cost, and the layers' changes."""
    from apptests import train_in_session
    from test_adaptation import open_adaptation

    from metaviz.tasks.navigation import NavigationConfig
    from metaviz.train import RunConfig, TrainConfig

    config = RunConfig(task="navigation", learner="maml_rl", task_config=NavigationConfig(horizon=5, n_rollouts=4),
                       train=TrainConfig(n_steps=4, eval_every=2, n_eval_tasks=4, meta_batch=4, hidden=16))
    def chart(a, key: str):
        return next((spec for id_, spec in charts(a).items() if id_.endswith(f"-{key}")), None)

    at = open_adaptation(train_in_session(config), lambda a: chart(a, "adapt-rl") is not None)
    spec = chart(at, "adapt-rl")
    assert spec["layout"]["title"]["text"].startswith("Minus the return against policy-gradient steps")
    assert {d.get("name") for d in spec["data"]} >= {"MAML for RL (policy gradient)",
                                                     "Pretrained policy + fine-tune (baseline)"}
    assert chart(at, "adapt-layers") is not None and not at.error
