"""Make the small shipped result of the AutoML lesson: metaviz/automl/lesson_result.json.

    nice -n 10 python scripts/automl_lesson.py     # about a CPU minute, one torch thread
"""

import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from metaviz.automl.lesson import PATH, compute  # noqa: E402

if __name__ == "__main__":
    torch.set_num_threads(1)
    start = time.process_time()
    PATH.write_text(json.dumps(compute(), indent=1) + "\n")
    print(f"wrote {PATH} in {time.process_time() - start:.1f} CPU s")
