"""MetaViz: meta-learning, live. The engine behind the app, usable on its own.

    from metaviz.train import Run, RunConfig, train
    run = Run(RunConfig(task="sinusoid", learner="maml"))
    for event in train(run, 100):
        print(event)
"""

__version__ = "0.1.0"
