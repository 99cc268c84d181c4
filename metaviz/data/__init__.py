"""Datasets on disk: finding, verifying, downloading and decoding them (no task logic here).

``images``: folders of class subfolders of images, read safely.
``omniglot``: Lake et al.'s handwritten characters, read straight from the official zips.
``oneshot``: the official 20-run Omniglot one-shot benchmark and its MHD baseline.
"""
