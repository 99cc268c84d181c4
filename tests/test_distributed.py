"""Meta-training split over two gloo processes equals one process (float64, tight tolerance), and
``torchrun --nproc-per-node 2 -m metaviz train`` records one run whose parameters equal a one-process run."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"meta_batch": 5, "n_steps": 3, "eval_every": 3, "n_eval_tasks": 5, "eval_steps": 2, "hidden": 8}
# 5 tasks on 2 processes: slices of 2 and 3, so an unweighted average of the two meta-gradients is wrong
CASES = {
    "maml-sinusoid": {"task": "sinusoid", "learner": "maml", "seed": 4, "train": SMALL},
    "protonet-blobs": {"task": "blobs", "learner": "protonet", "seed": 5, "train": SMALL,
                       "task_config": {"n_way": 3, "k_shot": 2}, "learner_config": {"embedding_dim": 4}},
    "reptile-sinusoid": {"task": "sinusoid", "learner": "reptile", "seed": 6, "train": SMALL},
    "scratch-sinusoid": {"task": "sinusoid", "learner": "scratch", "seed": 7, "train": SMALL},  # outer_step measures
}


def run_case(config: dict, group=None) -> dict[str, np.ndarray]:
    """Step 0's meta-gradients, 3 meta-iterations' losses and evaluations, and the final parameters, in float64;
    the run split over ``group``'s processes when given."""
    from metaviz import distributed
    from metaviz.events import EvalEvent, StepEvent
    from metaviz.train import Run, RunConfig, train

    torch.set_default_dtype(torch.float64)
    try:
        run = Run(RunConfig.from_dict({**config, "device": "cpu"}))
        if group is not None:
            distributed.distribute(run, group)
        out = {"support_x": run.batch_for_step(0).support_x.numpy(),
               "initial": run.learner.state_numpy()["head.weight"]}
        for who, learner in (("learner", run.learner), ("baseline", run.baseline)):
            grads, loss = learner.meta_grad(run.batch_for_step(0))
            out |= {f"grad/{who}/{k}": g.numpy() for k, g in grads.items()} | {f"grad_loss/{who}": loss.numpy()}
        losses, evals = [], []
        for event in train(run, 3):
            if isinstance(event, StepEvent):
                losses.append([event.loss, event.baseline_loss])
            elif isinstance(event, EvalEvent):
                evals.append(np.concatenate([event.val.loss, event.baseline_val.loss]
                                            + ([event.val.accuracy] if event.val.accuracy is not None else [])))
        out |= {"losses": np.array(losses), "evals": np.array(evals)}
        out |= {f"final/learner/{k}": v for k, v in run.learner.state_numpy().items()}
        out |= {f"final/baseline/{k}": v for k, v in run.baseline.state_numpy().items()}
        return out
    finally:
        torch.set_default_dtype(torch.float32)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_split_equals_whole():
    from metaviz.distributed import bounds

    for n in range(1, 12):
        for world in range(1, n + 1):
            parts = [bounds(n, world, r) for r in range(world)]
            assert parts[0][0] == 0 and parts[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
            sizes = [b - a for a, b in parts]
            assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1


def test_two_gloo_processes_give_the_meta_gradient_and_parameters_of_one(tmp_path):
    port, procs = free_port(), []
    for rank in range(2):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port), PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
        procs.append(subprocess.Popen([sys.executable, __file__, str(tmp_path)], env=env, cwd=ROOT, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    for p in procs:
        out, _ = p.communicate(timeout=240)
        assert p.returncode == 0, out
    for name, config in CASES.items():
        whole = run_case(config)
        ranks = [dict(np.load(tmp_path / f"{name}-{rank}.npz")) for rank in range(2)]
        # each rank trained on its slice of the batch one process draws: 2 tasks, then 3
        assert [r["support_x"].shape[0] for r in ranks] == [2, 3]
        np.testing.assert_array_equal(np.concatenate([r["support_x"] for r in ranks]), whole["support_x"])
        for rank in ranks:
            assert set(rank) == set(whole)
            for key in whole:
                if key == "support_x":
                    continue
                # after Adam steps a little looser: Adam divides by sqrt(v), which magnifies the rounding of
                # near-zero gradient entries (Reptile's theta - mean phi cancels digits); measured 1e-10
                tight = not key.startswith("final/")
                np.testing.assert_allclose(rank[key], whole[key], rtol=1e-10 if tight else 1e-8,
                                           atol=1e-12 if tight else 1e-9, err_msg=f"{name} {key}")
        moved = not np.allclose(whole["final/learner/head.weight"], whole["initial"])
        assert moved == (config["learner"] != "scratch"), name


def test_torchrun_trains_one_stored_run_with_the_parameters_of_one_process(tmp_path):
    from metaviz import checkpoint
    from metaviz.store import Store
    from metaviz.train import Run, RunConfig, train

    config = {"task": "sinusoid", "learner": "maml", "seed": 3, "device": "cpu",
              "train": {**SMALL, "n_steps": 6, "eval_every": 3}}
    (tmp_path / "run.json").write_text(json.dumps(config))
    env = dict(os.environ, METAVIZ_HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="")
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "-m", "metaviz", "train", "--config", str(tmp_path / "run.json"), "--quiet"],
                          env=env, cwd=ROOT, text=True, capture_output=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "x 2 processes" in done.stderr and done.stdout.count(" done at step 6/6") == 1  # rank 0 alone prints
    store = Store(tmp_path / "home")
    (record,) = store.runs()  # rank 0 alone records
    assert record.status == "done" and record.step == 6
    history = store.history(record.id)
    assert list(history.train["step"]) == [1, 2, 3, 4, 5, 6] and list(history.evals["step"]) == [0, 3, 6]
    stored = checkpoint.load(store.last_checkpoint(record.id).path).params

    run = Run(RunConfig.from_dict(config))
    losses = [e.loss for e in train(run, 6) if type(e).__name__ == "StepEvent"]
    np.testing.assert_allclose(history.train["loss"], losses, rtol=1e-5)
    for key, value in run.learner.state_numpy().items():
        np.testing.assert_allclose(stored[key], value, rtol=1e-5, atol=1e-6, err_msg=key)


if __name__ == "__main__":  # one rank of the two-process test, started by it with torchrun's variables
    torch.set_num_threads(1)
    from metaviz import distributed

    with distributed.init_from_env() as group:
        for name, config in CASES.items():
            np.savez(Path(sys.argv[1]) / f"{name}-{group.rank}.npz", **run_case(config, group))
