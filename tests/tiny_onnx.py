"""A tiny stand-in for the exported MiniLM, made without torch: the same graph interface (input_ids, attention_mask,
token_type_ids -> L2-normalised mean of token vectors) over a hashed word-level vocabulary, with a manifest that
marks it checked. Tests run the product's onnxruntime path on it in seconds, in processes that never load torch."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np

from search import onnx_encoder as ox
from search.embedding import PACKAGED_MODEL, PACKAGED_SHA256

DIM = 32


def _vocab(texts: list[str]) -> dict[str, int]:
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3}
    for text in texts:
        for word in re.findall(r"\w+|[^\w\s]", text.lower()):
            vocab.setdefault(word, len(vocab))
    return vocab


def write_tiny_model(data_dir: Path, texts: list[str]) -> Path:
    """The export folder kb looks in for the packaged model, holding the tiny model (vocabulary from `texts`)."""
    import onnx
    from onnx import TensorProto, helper
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel

    folder = ox.export_dir(data_dir, PACKAGED_MODEL, PACKAGED_SHA256)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = _vocab(texts)
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok.save(str(folder / "tokenizer.json"))

    # one pseudo-random vector per word (a hash of the word), the special tokens at zero
    table = np.zeros((len(vocab), DIM), dtype=np.float32)
    for word, i in vocab.items():
        if i > 3:
            seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            table[i] = np.random.default_rng(seed).standard_normal(DIM)
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["tokens"]),
        helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["maskf", "axis_last"], ["mask3"]),
        helper.make_node("Mul", ["tokens", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis_one"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask3", "axis_one"], ["count"], keepdims=0),
        helper.make_node("Max", ["count", "eps"], ["count_safe"]),
        helper.make_node("Div", ["summed", "count_safe"], ["mean"]),
        helper.make_node("LpNormalization", ["mean"], ["sentence_embedding"], axis=1, p=2),
        helper.make_node("Identity", ["token_type_ids"], ["unused"]),
    ]
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "tokens"]) for n in ox.INPUTS]
    graph = helper.make_graph(
        nodes, "tiny-minilm", inputs,
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", DIM]),
         helper.make_tensor_value_info("unused", TensorProto.INT64, ["batch", "tokens"])],
        initializer=[helper.make_tensor("table", TensorProto.FLOAT, table.shape, table.flatten().tolist()),
                     helper.make_tensor("axis_last", TensorProto.INT64, [1], [-1]),
                     helper.make_tensor("axis_one", TensorProto.INT64, [1], [1]),
                     helper.make_tensor("eps", TensorProto.FLOAT, [], [1e-9])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ox.OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / "model.onnx"))
    manifest = {"format": ox.FORMAT, "model": PACKAGED_MODEL, "weights_sha256": PACKAGED_SHA256,
                "max_seq_length": 256, "pooling": "mean", "normalize": True, "dim": DIM,
                "onnx_bytes": (folder / "model.onnx").stat().st_size,
                "exporter": "tests/tiny_onnx.py", "check": {"min_cosine": 1.0}, "passed": True}
    (folder / ox.MANIFEST).write_text(json.dumps(manifest))
    return folder

READER_DIM = 1024
_STOP = {"what", "your", "with", "that", "this", "have", "from", "they", "when", "which", "there", "about", "would",
         "their", "were", "been", "into", "than", "then", "them", "does", "just", "like", "most", "much", "some"}


def write_tiny_reader(folder: Path, texts: list[str], max_length: int = 64) -> Path:
    """A tiny stand-in for the reader (search/reader_model.py): the same graph interface (input_ids, attention_mask,
    token_type_ids -> logits [batch, 1]) scoring the dot product of the question's and the passage's summed word
    vectors, so a passage sharing the question's words scores above one that does not. Writes model.onnx,
    tokenizer.json and reader.json (with the file's sha256) into `folder`."""
    import onnx
    from onnx import TensorProto, helper
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel

    folder.mkdir(parents=True, exist_ok=True)
    vocab = _vocab(texts)
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok.save(str(folder / "tokenizer.json"))
    # near-orthogonal unit vectors for content words (4+ letters, not a stop word); short words, punctuation and
    # the special tokens at zero
    table = np.zeros((len(vocab), READER_DIM), dtype=np.float32)
    for word, i in vocab.items():
        if i > 3 and len(word) >= 4 and word.isalpha() and word not in _STOP:
            seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            table[i] = np.random.default_rng(seed).standard_normal(READER_DIM) / np.sqrt(READER_DIM)
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["tokens"]),
        helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["token_type_ids"], ["typef"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["maskf", "typef"], ["pmask"]),
        helper.make_node("Sub", ["maskf", "pmask"], ["qmask"]),
        helper.make_node("Unsqueeze", ["pmask", "axis_last"], ["pmask3"]),
        helper.make_node("Unsqueeze", ["qmask", "axis_last"], ["qmask3"]),
        helper.make_node("Mul", ["tokens", "pmask3"], ["ptok"]),
        helper.make_node("Mul", ["tokens", "qmask3"], ["qtok"]),
        helper.make_node("ReduceSum", ["ptok", "axis_one"], ["pvec"], keepdims=0),
        helper.make_node("ReduceSum", ["qtok", "axis_one"], ["qvec"], keepdims=0),
        helper.make_node("Mul", ["pvec", "qvec"], ["prod"]),
        helper.make_node("ReduceSum", ["prod", "axis_one"], ["logits"], keepdims=1),
    ]
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "tokens"]) for n in ox.INPUTS]
    graph = helper.make_graph(
        nodes, "tiny-reader", inputs, [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1])],
        initializer=[helper.make_tensor("table", TensorProto.FLOAT, table.shape, table.flatten().tolist()),
                     helper.make_tensor("axis_last", TensorProto.INT64, [1], [-1]),
                     helper.make_tensor("axis_one", TensorProto.INT64, [1], [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ox.OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / "model.onnx"))
    blob = (folder / "model.onnx").read_bytes()
    meta = {"file": "model.onnx", "sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob),
            "tokenizer": "tokenizer.json", "max_length": max_length, "truncation": "longest_first",
            "inputs": list(ox.INPUTS), "output": "logits", "base": "tests/tiny_onnx.py"}
    (folder / "reader.json").write_text(json.dumps(meta, indent=1))
    return folder
