"""Validate and load a semeq model bundle (four ONNX models + manifest.json) with ONNX Runtime.

The format is described in docs/bundle.md. Everything that is wrong with a bundle raises BundleError
naming the offending file, at load time rather than mid-stream. Never imports torch.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import hashlib
import json
import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import eqdef, ltas

FORMAT = "semeq-bundle"
FORMAT_VERSION = 2  # 2: term_scorer of kind term-boost-cut-logistic
MANIFEST_NAME = "manifest.json"
DEFAULT_BUNDLE_DIR = Path(__file__).resolve().parent / "models" / "default"
#: The models of a bundle, by their key under the manifest's "models".
ROLES = ("audio_encoder", "audio_head", "eq_encoder", "eq_decoder")
#: Models a bundle may add: eq_decoder_params is eq_decoder's ``params`` output alone (the graph without
#: the 121-point response, a quarter of the decoder's time; what an adaptive analysis calls).
OPTIONAL_ROLES = ("eq_decoder_params",)
#: ONNX Runtime's name for the one tensor type a bundle uses.
_ORT_FLOAT = "tensor(float)"


def model_roles(manifest: dict) -> tuple:
    """The roles of the models that ``manifest`` lists: every required one, then the optional ones present."""
    return ROLES + tuple(r for r in OPTIONAL_ROLES if r in manifest.get("models", {}))


class BundleError(ValueError):
    """A bundle file is missing, corrupt, or does not match its manifest; ``path`` is that file."""

    def __init__(self, path, problem):
        self.path = Path(path)
        super().__init__(f"{self.path}: {problem}")


class Term(NamedTuple):
    name: str
    centroid: np.ndarray  # (latent_dim,) float32
    spread: np.ndarray  # (latent_dim,) float32, per-dimension std of the term's examples
    count: int          # contributions behind the word over the data sets
    counts: dict | None = None       # per data set: {"safe": n, "socialfx": n, "audealize": n}
    agreement: float | None = None   # mean correlation between its contributors' curves


def sha256_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------
# manifest validation

def _field(manifest_path, obj, dotted, kind):
    """obj[dotted] (dots walk into sub-objects), checked to be of ``kind``."""
    value = obj
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            raise BundleError(manifest_path, f"required field {dotted!r} is missing")
        value = value[key]
    # JSON has no int/float distinction for whole numbers; bool is not a number here.
    ok = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
    if not ok:
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise BundleError(manifest_path, f"field {dotted!r} should be {names}, got {type(value).__name__}")
    return value


def _positive(manifest_path, obj, dotted, kind=int):
    """``_field`` that must also be a finite number > 0."""
    value = _field(manifest_path, obj, dotted, kind)
    if not (math.isfinite(value) and value > 0):
        raise BundleError(manifest_path, f"field {dotted!r} should be a finite number > 0, got {value!r}")
    return value


def _number_list(manifest_path, value, dotted, length):
    if not (isinstance(value, list) and len(value) == length
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)):
        raise BundleError(manifest_path, f"field {dotted!r} should be a list of {length} finite numbers")
    return value


def _read_manifest(folder: Path) -> dict:
    manifest_path = folder / MANIFEST_NAME
    if not folder.is_dir():
        raise BundleError(folder, "bundle folder does not exist")
    if not manifest_path.is_file():
        raise BundleError(manifest_path, "manifest is missing (is this a bundle folder?)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BundleError(manifest_path, f"manifest is not valid JSON: {e}") from None
    except RecursionError:
        raise BundleError(manifest_path, "manifest is nested too deeply to be a semeq bundle manifest") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(manifest_path, f"not a semeq bundle manifest (\"format\" should be {FORMAT!r})")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise BundleError(
            manifest_path,
            f"format_version {version!r} is not supported by this semeq_rt (reads {FORMAT_VERSION}); "
            + ("written by a newer semeq-export: upgrade semeq" if newer else "re-export the bundle"),
        )
    return manifest


#: The manifest's ``term_scorer.kind`` that ``semantics.scores_from_curves`` computes.
TERM_SCORER_KIND = "term-boost-cut-logistic"


def term_scorer_arrays(manifest) -> tuple:
    """(term names, ``scores_from_curves``'s scorer) from a bundle manifest's ``term_scorer`` and the
    terms' centroid curves (its reference curves). Raises ValueError saying what is wrong with them
    (``load_bundle`` checks this when it loads a bundle)."""
    scorer = manifest.get("term_scorer")
    if not isinstance(scorer, dict) or scorer.get("kind") != TERM_SCORER_KIND:
        kind = scorer.get("kind") if isinstance(scorer, dict) else None
        raise ValueError(f"term_scorer must be of kind {TERM_SCORER_KIND!r}, got {kind!r} (re-export the bundle "
                         f"with this version's semeq-export)")
    def numbers(value, shape, what):
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            array = None
        if array is None or array.shape != shape or not np.all(np.isfinite(array)):
            raise ValueError(f"term_scorer's {what}")
        return array

    names = scorer.get("terms")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ValueError("term_scorer's 'terms' must be a non-empty list of term names")
    arrays = {key: numbers(scorer.get(key), (len(names),), f"{key!r} must hold one finite number per term "
                                                           f"({len(names)})")
              for key in ("slope_boost", "slope_cut", "intercept")}
    for key in ("slope_boost", "slope_cut"):
        if np.any(arrays[key] < 0):
            raise ValueError(f"term_scorer's {key!r} must be ≥ 0 (a score never falls as the term's EQ grows)")
    curves = {t.get("name"): t.get("curve_db") for t in manifest.get("terms", []) if isinstance(t, dict)}
    reference = numbers([curves.get(n) for n in names], (len(names), eqdef.N_GRID),
                        f"terms must each have a curve_db of {eqdef.N_GRID} finite numbers in 'terms'")
    if np.any(np.ptp(reference[:, ltas.BAND_MASK], axis=1) == 0):
        raise ValueError("term_scorer's terms must each have a curve_db that is not flat over 50 Hz–16 kHz "
                         "(its amounts would be undefined)")
    return names, {"curves_db": reference, **arrays}


def _check_manifest(manifest_path: Path, manifest: dict) -> None:
    latent_dim = _positive(manifest_path, manifest, "latent_dim")
    window, hop = (_positive(manifest_path, manifest, dotted) for dotted in ("audio.window", "audio.hop"))
    if hop > window:
        raise BundleError(manifest_path, f"field 'audio.hop' ({hop}) should not exceed 'audio.window' ({window})")
    _positive(manifest_path, manifest, "audio.sample_rate", (int, float))
    # the EQ this runtime implements (eqdef): the bundle's models were trained on exactly this one
    grid = _number_list(manifest_path, _field(manifest_path, manifest, "eq.freq_grid_hz", list), "eq.freq_grid_hz",
                        eqdef.N_GRID)
    if not np.allclose(grid, eqdef.FREQ_GRID, rtol=1e-12, atol=0):
        raise BundleError(manifest_path, "field 'eq.freq_grid_hz' is not this runtime's grid (eqdef.FREQ_GRID)")
    layout = _field(manifest_path, manifest, "eq.param_layout", list)
    for i, p in enumerate(layout):
        if not (isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("unit"), str)):
            raise BundleError(manifest_path, f"eq.param_layout[{i}] should have a name, unit, low and high")
        _field(manifest_path, p, "low", (int, float))
        _field(manifest_path, p, "high", (int, float))
    if [(p["name"], p["unit"], p["low"], p["high"]) for p in layout] != [tuple(p) for p in eqdef.PARAM_LAYOUT]:
        raise BundleError(manifest_path, "field 'eq.param_layout' is not this runtime's layout (eqdef.PARAM_LAYOUT)")
    neutral = _field(manifest_path, manifest, "neutral_reference", dict)
    # the streaming analysis' frames
    n_fft, frame_hop = (_positive(manifest_path, manifest, f"neutral_reference.{key}")
                        for key in ("n_fft", "frame_hop"))
    if n_fft % frame_hop:
        raise BundleError(manifest_path, f"field 'neutral_reference.frame_hop' ({frame_hop}) should divide "
                                         f"'neutral_reference.n_fft' ({n_fft})")
    _number_list(manifest_path, neutral.get("curve_db"), "neutral_reference.curve_db", eqdef.N_GRID)
    for i, term in enumerate(_field(manifest_path, manifest, "terms", list)):
        where = f"terms[{i}]"
        if not isinstance(term, dict) or not isinstance(term.get("name"), str):
            raise BundleError(manifest_path, f"{where} should be an object with a name")
        _number_list(manifest_path, term.get("centroid"), f"{where}.centroid", latent_dim)
        _number_list(manifest_path, term.get("spread"), f"{where}.spread", latent_dim)
        _field(manifest_path, term, "count", int)
    try:
        term_scorer_arrays(manifest)
    except ValueError as e:
        raise BundleError(manifest_path, str(e)) from None
    _check_text(manifest_path, manifest)
    models = _field(manifest_path, manifest, "models", dict)
    for role in model_roles(manifest):
        entry = _field(manifest_path, models, role, dict)
        for key in ("file", "sha256"):
            _field(manifest_path, entry, key, str)
        for key in ("inputs", "outputs"):
            for j, tensor in enumerate(_field(manifest_path, entry, key, list)):
                if not (isinstance(tensor, dict) and isinstance(tensor.get("name"), str)
                        and isinstance(tensor.get("shape"), list) and tensor.get("dtype") == "float32"):
                    raise BundleError(manifest_path,
                                      f"models.{role}.{key}[{j}] should have a name, a shape and dtype float32")
        if Path(entry["file"]).name != entry["file"]:
            raise BundleError(manifest_path, f"models.{role}.file should be a file name inside the bundle folder")


def _check_text(manifest_path: Path, manifest: dict) -> None:
    """The optional open-vocabulary section (docs/bundle.md, "text")."""
    if "text" not in manifest:
        return
    latent_dim = manifest["latent_dim"]
    _field(manifest_path, manifest, "text", dict)
    for key in ("file", "sha256", "tokenizer", "tokenizer_sha256"):
        _field(manifest_path, manifest, f"text.encoder.{key}", str)
    for key in ("embedding_dim", "max_tokens"):
        _positive(manifest_path, manifest, f"text.encoder.{key}")
    template = _field(manifest_path, manifest, "text.template", str)
    if template.count("{}") != 1:
        raise BundleError(manifest_path, "field 'text.template' should hold one '{}' where the text goes")
    _positive(manifest_path, manifest, "text.temperature", (int, float))
    _positive(manifest_path, manifest, "text.confidence.slope", (int, float))
    _positive(manifest_path, manifest, "text.confidence.neighbours")
    intercept = _field(manifest_path, manifest, "text.confidence.intercept", (int, float))
    if not math.isfinite(intercept):
        raise BundleError(manifest_path, "field 'text.confidence.intercept' should be finite")
    for key in ("file", "sha256"):
        _field(manifest_path, manifest, f"text.neighbours.{key}", str)
    words = _field(manifest_path, manifest, "text.neighbours.words", list)
    others = _field(manifest_path, manifest, "text.neighbours.others", list)
    for i, other in enumerate(others):
        if not isinstance(other, dict) or not isinstance(other.get("name"), str):
            raise BundleError(manifest_path, f"text.neighbours.others[{i}] should be an object with a name")
        _number_list(manifest_path, other.get("centroid"), f"text.neighbours.others[{i}].centroid", latent_dim)
        _number_list(manifest_path, other.get("spread"), f"text.neighbours.others[{i}].spread", latent_dim)
    phrases = _field(manifest_path, manifest, "text.confidence.phrases", list)
    if not all(isinstance(p, str) for p in phrases):
        raise BundleError(manifest_path, "field 'text.confidence.phrases' should be a list of texts")
    placed = {t["name"] for t in manifest["terms"]} | {o["name"] for o in others}
    if not words or len(set(words)) != len(words) or not all(isinstance(w, str) and w in placed for w in words):
        raise BundleError(manifest_path, "field 'text.neighbours.words' should list distinct words, each a term "
                                         "or in 'text.neighbours.others'")


def _model_files(manifest: dict) -> list:
    """(what, file name, sha256) of every file the manifest names."""
    files = [(f"model file for {role!r}", manifest["models"][role]["file"], manifest["models"][role]["sha256"])
             for role in model_roles(manifest)]
    if "text" in manifest:
        text = manifest["text"]
        # the text encoder (24 MB) is not in the repository: semeq_rt.text finds it and checks what it computes
        files += [("the text tokenizer", text["encoder"]["tokenizer"], text["encoder"]["tokenizer_sha256"]),
                  ("the text neighbours' embeddings", text["neighbours"]["file"], text["neighbours"]["sha256"])]
    return files


def _check_model_files(folder: Path, manifest: dict) -> None:
    for what, name, expected in _model_files(manifest):
        if Path(name).name != name:
            raise BundleError(folder / MANIFEST_NAME, f"{what} should be a file name inside the bundle folder")
        model_path = folder / name
        if not model_path.is_file():
            raise BundleError(model_path, f"{what} is missing")
        actual = sha256_file(model_path)
        if actual != expected:
            raise BundleError(model_path, f"SHA-256 {actual} does not match the manifest's {expected} "
                                          "(file changed or corrupt)")


def validate_bundle(path=None) -> dict:
    """Check manifest and model files (structure, version, hashes) without creating sessions;
    ``path`` None is the shipped default bundle. Returns the manifest."""
    folder = DEFAULT_BUNDLE_DIR if path is None else Path(path)
    manifest = _read_manifest(folder)
    _check_manifest(folder / MANIFEST_NAME, manifest)
    _check_model_files(folder, manifest)
    return manifest


# ---------------------------------------------------------------------------------------------------
# execution providers and sessions

def _cuda_device_present() -> bool:
    """Whether the CUDA driver loads and reports at least one device (quiet: no ORT involved)."""
    names = [n for n in (ctypes.util.find_library("cuda"), "libcuda.so.1", "nvcuda.dll") if n]
    for name in names:  # (CDLL(None) would be this process itself)
        try:
            driver = ctypes.CDLL(name)
            break
        except OSError:
            continue
    else:
        return False
    count = ctypes.c_int(0)
    return driver.cuInit(0) == 0 and driver.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0


@functools.lru_cache(maxsize=None)
def cuda_usable(probe_model: str) -> bool:
    """True when ONNX Runtime's CUDA provider really runs ``probe_model`` here; checked once per model,
    without the errors onnxruntime-gpu logs when CUDA is asked for on a machine that lacks it."""
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers() or not _cuda_device_present():
        return False
    # A driver and a device, but the provider may still miss its CUDA/cuDNN libraries: try it quietly.
    # ORT has no getter for the default logger severity; 2 (warning) is its default.
    ort.set_default_logger_severity(4)
    try:
        probe = ort.InferenceSession(probe_model, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
        return "CUDAExecutionProvider" in probe.get_providers()
    except Exception:  # noqa: BLE001 — whatever failed, CUDA is not usable
        return False
    finally:
        ort.set_default_logger_severity(2)


def select_providers(probe_model, providers=None) -> list:
    """``providers`` as given; else CUDA (when it really runs ``probe_model``) then CPU; else CPU."""
    if providers is not None:
        import onnxruntime as ort

        available = ort.get_available_providers()
        names = [p[0] if isinstance(p, tuple) else p for p in providers]  # (name, options) pairs allowed
        unknown = [n for n in names if n not in available]
        if unknown or not names:
            raise ValueError(f"providers {names} not usable: this onnxruntime offers {available}")
        return list(providers)
    if cuda_usable(str(probe_model)):
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def _session_options(intra_op_threads: int, inter_op_threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = inter_op_threads
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def _describe(tensors) -> list:
    return [(t["name"], [d if isinstance(d, int) else None for d in t["shape"]]) for t in tensors]


def _describe_session(args) -> list:
    return [(a.name, [d if isinstance(d, int) else None for d in a.shape]) for a in args]


def _open_session(folder: Path, role: str, entry: dict, options, providers):
    import onnxruntime as ort

    model_path = folder / entry["file"]
    try:
        session = ort.InferenceSession(str(model_path), options, providers=providers)
    except Exception as e:  # ORT raises its own exception types for protobuf/graph/provider failures
        raise BundleError(model_path, f"ONNX Runtime cannot load it as the {role!r} model: {e}") from None
    meta = session.get_modelmeta().custom_metadata_map
    if meta.get("semeq.role") != role or meta.get("semeq.format_version") != str(FORMAT_VERSION):
        raise BundleError(model_path, f"its metadata says role {meta.get('semeq.role')!r}, format_version "
                                      f"{meta.get('semeq.format_version')!r}; the manifest lists it as "
                                      f"{role!r}, format_version {FORMAT_VERSION}")
    for kind, expected, actual_args in (("inputs", entry["inputs"], session.get_inputs()),
                                        ("outputs", entry["outputs"], session.get_outputs())):
        if _describe(expected) != _describe_session(actual_args) or any(a.type != _ORT_FLOAT for a in actual_args):
            actual = [(a.name, a.shape, a.type) for a in actual_args]
            raise BundleError(model_path, f"its {kind} {actual} differ from the manifest's "
                                          f"{[(t['name'], t['shape'], t['dtype']) for t in expected]}")
    return session


class Bundle:
    """Loaded bundle: ONNX Runtime sessions plus the manifest's facts (see docs/bundle.md)."""

    def __init__(self, path: Path, manifest: dict, sessions: dict, providers: list):
        self.path = path
        self.manifest = manifest
        self.sessions = sessions
        self.providers = providers
        audio = manifest["audio"]
        self.sample_rate = audio["sample_rate"]
        self.window = audio["window"]
        self.hop = audio["hop"]
        self.latent_dim = manifest["latent_dim"]
        self.freq_grid = np.asarray(manifest["eq"]["freq_grid_hz"], dtype=np.float64)
        self.param_layout = tuple((p["name"], p["unit"], p["low"], p["high"])
                                  for p in manifest["eq"]["param_layout"])
        self.neutral_reference = manifest["neutral_reference"]
        self.text = manifest.get("text")  # the open vocabulary's section, or None (semeq_rt.vocabulary)
        self.terms = {
            t["name"]: Term(t["name"], np.asarray(t["centroid"], dtype=np.float32),
                            np.asarray(t["spread"], dtype=np.float32), t["count"], t.get("counts"),
                            t.get("agreement"))
            for t in manifest["terms"]
        }

    def _run(self, role: str, values):
        session = self.sessions[role]
        (spec,) = self.manifest["models"][role]["inputs"]
        size = spec["shape"][-1]
        x = np.ascontiguousarray(values, dtype=np.float32)
        single = x.ndim == 1
        if single:
            x = x[None]
        if x.ndim != 2 or x.shape[1] != size:
            raise ValueError(f"{role} takes {spec['name']} of shape ({size},) or (n, {size}); "
                             f"got shape {np.shape(values)}")
        outputs = session.run(None, {spec["name"]: x})
        return [o[0] for o in outputs] if single else outputs

    def encode_audio(self, windows) -> np.ndarray:
        """Mono float32 audio at ``sample_rate``: (window,) or (n, window) → latent (…, latent_dim)."""
        return self._run("audio_encoder", windows)[0]

    def encode_balance(self, balances_db) -> np.ndarray:
        """Tonal balances on ``freq_grid`` as the audio encoder's front end computes them (the
        manifest's ``neutral_reference.definition``): (121,) or (n, 121) → latent (…, latent_dim),
        what ``encode_audio`` gives for audio of that balance. For streaming analysis, which
        accumulates the balance's spectrum frame by frame."""
        return self._run("audio_head", balances_db)[0]

    def encode_curve(self, curves_db) -> np.ndarray:
        """dB curves on ``freq_grid``: (121,) or (n, 121) → latent (…, latent_dim)."""
        return self._run("eq_encoder", curves_db)[0]

    def decode(self, latent):
        """Latent (…, latent_dim) → (13 EQ parameters (…, 13), their dB response (…, 121))."""
        params, response_db = self._run("eq_decoder", latent)
        return params, response_db

    def decode_params(self, latent) -> np.ndarray:
        """Latent (…, latent_dim) → 13 EQ parameters (…, 13): ``decode``'s first output, by the bundle's
        eq_decoder_params model where it has one (without the response, a quarter of the time)."""
        role = "eq_decoder_params" if "eq_decoder_params" in self.sessions else "eq_decoder"
        return self._run(role, latent)[0]

    def __repr__(self):
        return f"Bundle({str(self.path)!r}, latent_dim={self.latent_dim}, providers={self.providers})"


def load_bundle(path=None, *, providers=None, intra_op_threads: int = 1,
                inter_op_threads: int = 1) -> Bundle:
    """Validate the bundle at ``path`` (None: the shipped default) and create its ONNX Runtime sessions,
    one per model, each with the given thread counts and graph optimisations on (docs/bundle.md)."""
    folder = DEFAULT_BUNDLE_DIR if path is None else Path(path)
    manifest = validate_bundle(folder)
    models = manifest["models"]
    chosen = select_providers(folder / models["eq_encoder"]["file"], providers)
    options = _session_options(intra_op_threads, inter_op_threads)
    sessions = {role: _open_session(folder, role, models[role], options, chosen) for role in model_roles(manifest)}
    in_use = sessions[ROLES[0]].get_providers()
    return Bundle(folder, manifest, sessions, in_use)
