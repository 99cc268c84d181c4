"""Train the short runs that pages would otherwise meta-train when they open, and ship their trajectories.

    python scripts/train_demo_zoo.py            # writes metaviz/zoo/demo/*.safetensors
    python scripts/train_demo_zoo.py --lessons  # records the lessons' default runs (opens each lesson once)

* ``landscape-sine-maml-150-every-10``: the Loss Landscape page's run when the session has none
  (``metaviz.analysis.landscape.default_run``: MAML on sine waves, 150 meta-iterations, a checkpoint every 10).
* ``adaptation-maml-sinusoid-150``: the Adaptation page's default run (``metaviz.analysis.adaptation.quick_run(
  default_config())``: MAML on sine waves, 150 meta-iterations, a checkpoint and an evaluation every 15);
* ``embedding-protonet-omniglot-40-11``: the Embedding Space page's quick run when Omniglot's background sets are
  here (``metaviz.analysis.embedding.quick_run(quick_config("omniglot"))``: ProtoNet, Conv4-32 at 16 x 16 pixels,
  40 meta-iterations, 11 checkpoints); its pictures still need the data.

With ``--lessons``, each lesson is opened once at its defaults (AppTest, a fresh session) with
``METAVIZ_RECORD_DEMOS=1``: every single-run ``metaviz.analysis.lessons.train_states`` call it makes that has no
file yet is trained and saved as ``lesson-<name>-<fingerprint of its RunConfig>``. Shipped since 2026-12-03
(the lessons' captions say that the default run is recorded with the app); recorded then under load: six lesson
files (the lessons' shared MAML sine runs, Reptile's, Meta-SGD's, the sequence model's, the CNP's) and
``adaptation-maml-sinusoid-200``, 316 KiB in all; ``tests/test_first_paint.py`` retrains each (slow) and compares.

Each is trained by the same function the page calls, with torch on one thread; ``metaviz.trajectories.cached``
uses the file only when its stored ``RunConfig`` equals the one the page asks for.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from metaviz import trajectories  # noqa: E402
from metaviz.analysis.landscape import default_run_config, train_trajectory  # noqa: E402


def record_lessons() -> int:
    import os

    from streamlit.testing.v1 import AppTest

    from ui.lesson import LESSONS

    os.environ["METAVIZ_RECORD_DEMOS"] = "1"
    before = set(trajectories.DEMO_DIR.glob("lesson-*"))
    for page, *_ in LESSONS:
        start = time.perf_counter()
        at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=900)
        at.run()  # the router's first run (Home), then the lesson, as a user reaches it
        at.switch_page(page)
        at.run()
        print(f"{page}: {time.perf_counter() - start:.1f} s{' (exception)' if at.exception else ''}", flush=True)
    for path in sorted(set(trajectories.DEMO_DIR.glob("lesson-*")) - before):
        print(f"{path}: {path.stat().st_size / 1024:.0f} KiB")
    return 0


def main() -> int:
    torch.set_num_threads(1)
    if "--lessons" in sys.argv[1:]:
        return record_lessons()
    start = time.perf_counter()
    config = default_run_config(seed=0, n_steps=150)
    path = trajectories.DEMO_DIR / "landscape-sine-maml-150-every-10.safetensors"
    path.unlink(missing_ok=True)  # train afresh, not from the file
    path = trajectories.save(path, config, train_trajectory(config, every=10))
    print(f"{path}: {path.stat().st_size / 1024:.0f} KiB in {time.perf_counter() - start:.1f} s")
    from metaviz.analysis import adaptation, embedding

    start, config = time.perf_counter(), adaptation.default_config(seed=0)
    path = trajectories.save(trajectories.DEMO_DIR / f"{adaptation.shipped_name(config)}.safetensors", config,
                             *adaptation.packed(adaptation.trained_run(config)))
    print(f"{path}: {path.stat().st_size / 1024:.0f} KiB in {time.perf_counter() - start:.1f} s")

    if embedding.omniglot_available():
        start, config = time.perf_counter(), embedding.quick_config("omniglot", seed=0)
        path = trajectories.DEMO_DIR / f"embedding-{config.learner}-{config.task}-{config.train.n_steps}-11.safetensors"
        path.unlink(missing_ok=True)  # train afresh, not from the file
        path = trajectories.save(path, config, embedding.quick_run(config).checkpoints)
        print(f"{path}: {path.stat().st_size / 1024:.0f} KiB in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
