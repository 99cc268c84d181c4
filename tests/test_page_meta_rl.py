"""The Meta-RL page: Start trains an RL run live through the session worker; the trajectories (navigation)
and the bandit trial against UCB1 and Thompson sampling appear once a checkpoint is published, in Chinese too."""

import json

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
