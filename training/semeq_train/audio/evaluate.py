"""Evaluate audio encoders on a folder of audio files, or on the packages' validation tracks:
EQ-change recovery, level invariance, agreement of "warm"/"bright" with measured tilt, inference cost,
each for every given checkpoint and for the model-free LTAS baseline.

    python -m semeq_train.audio.evaluate [DIR] --checkpoint runs/audio/encoder.pt [--report out.json]

(also ``semeq-train audio --evaluate [DIR]``). Without DIR: the validation tracks of nexuiz-music and
hyperrogue-music, which training never sees.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from semeq_rt import eqdef, ltas

from .. import music
from ..eqspace import load_checkpoint as load_eqspace
from .eq import SafeEqSampler, apply_eq
from .model import WINDOW, load_checkpoint
from .reference import tilt_db_per_octave

DEFAULT_EQSPACE = "runs/eq/eqspace.pt"
LEVEL_STEP_DB = 20.0
#: a window is skipped when its RMS is this far below its file's RMS (intros, fade-outs, silence)
QUIET_DB = -20.0


def windows_of(audio: np.ndarray, count: int, window: int = WINDOW) -> np.ndarray:
    """Up to ``count`` evenly spaced, non-quiet windows of a mono 48 kHz signal, (n, window)."""
    if len(audio) < window:
        return np.empty((0, window))
    starts = np.linspace(0, len(audio) - window, count + 2)[1:-1].astype(int)
    rms = np.sqrt(np.mean(np.square(audio, dtype=np.float64)))
    kept = [audio[s : s + window] for s in starts
            if np.sqrt(np.mean(np.square(audio[s : s + window], dtype=np.float64))) > rms * 10 ** (QUIET_DB / 20)]
    return np.array(kept, dtype=np.float64).reshape(-1, window)


def folder_clips(folder, per_file: int) -> tuple:
    """Windows of every audio file in ``folder`` (recursively), read with soundfile, mid, 48 kHz."""
    import soundfile

    clips, names = [], []
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file():
            continue
        try:
            audio, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        except (RuntimeError, soundfile.LibsndfileError):
            continue  # not audio
        mid = music.resample(ltas.to_mid(audio), rate, ltas.SAMPLE_RATE)
        for w in windows_of(mid, per_file):
            clips.append(w)
            names.append(str(path))
    return np.array(clips).reshape(-1, WINDOW), names


def validation_clips(per_file: int, music_dir=None) -> tuple:
    """Windows of the validation tracks of the music packages, and the packages' .deb SHA-256."""
    hashes = music.fetch(music.MUSIC_PACKAGES, music_dir)
    _, validation = music.split_tracks(music.list_tracks(music.MUSIC_PACKAGES, music_dir))
    clips, names = [], []
    for track in validation:
        for w in windows_of(np.asarray(music.load_mid(track, ltas.SAMPLE_RATE, music_dir)), per_file):
            clips.append(w)
            names.append(f"{track.package}/{track.name}")
    return np.array(clips).reshape(-1, WINDOW), names, hashes


#: The metric: one window through the trained module, torch eager, one thread (ms).
INFERENCE_KEY = "inference_ms_one_window_eager_1_thread"


def model_analyser(model):
    def encode(clips: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            batches = np.array_split(clips, max(1, len(clips) // 16))
            return torch.cat([model(torch.tensor(c, dtype=torch.float32)) for c in batches])
    return encode


def ltas_analyser(space):
    """The model-free baseline: exact balance (numpy, as the runtime computes it) → EQ encoder."""
    def encode(clips: np.ndarray) -> torch.Tensor:
        return space.encode(np.stack([ltas.balance_db(c) for c in clips]))
    return encode


def band_level_tilt(clips: np.ndarray) -> np.ndarray:
    """dB/octave of a line fitted to each clip's 1/3-octave band levels over 50 Hz–16 kHz (band level =
    density × bandwidth, and a 1/3-octave band's width grows ∝ f)."""
    levels = np.stack([ltas.ltas_db(c) for c in clips]) + 10.0 * np.log10(eqdef.FREQ_GRID)
    return tilt_db_per_octave(levels)


def _band_rms(curves: np.ndarray) -> np.ndarray:
    band = curves[..., ltas.BAND_MASK]
    band = band - band.mean(axis=-1, keepdims=True)
    return np.sqrt(np.mean(band**2, axis=-1))


def evaluate_analyser(encode, space, clips, eq_params, eq_index) -> dict:
    """All must-show numbers for one analyser. ``eq_index`` (n_clips, k) picks held-out EQs per clip."""
    z0 = encode(clips)
    warm, bright = (space.term_names.index(t) for t in ("warm", "bright"))
    centroid_distance = float((space.centroid("warm") - space.centroid("bright")).norm())

    # EQ-change recovery: decode(enc(e·x)) − decode(enc(x)) against e's response (level-free).
    eq_clips, responses, base_rows = [], [], []
    for i, picks in enumerate(eq_index):
        params = torch.tensor(eq_params[picks])
        eq_clips.append(apply_eq(torch.tensor(clips[i]).expand(len(picks), -1), params).numpy())
        responses.append(eqdef.params_response_db(eq_params[picks]))
        base_rows += [i] * len(picks)
    eq_clips, responses = np.concatenate(eq_clips), np.concatenate(responses)
    z1 = encode(eq_clips)
    change = (space.decode_curve(z1) - space.decode_curve(z0[base_rows])).numpy()
    recovery = _band_rms(change - responses)

    # Level invariance: ±20 dB.
    shifts = [float(torch.linalg.vector_norm(encode(clips * 10 ** (s * LEVEL_STEP_DB / 20)) - z0, dim=-1).max())
              for s in (-1, 1)]

    # Agreement with measurement: term scores vs measured tilt, across clips and across EQ'd clips.
    agreement = {}
    for name, audio, z in (("clips", clips, z0), ("eq_clips", eq_clips, z1)):
        tilt = band_level_tilt(audio)
        balance_tilt = tilt_db_per_octave(np.stack([ltas.balance_db(c) for c in audio]))
        decoded_tilt = tilt_db_per_octave(space.decode_curve(z).numpy())
        scores = space.term_scores(z).numpy()
        warm_vs_bright = scores[:, warm] / (scores[:, warm] + scores[:, bright])
        agreement[name] = {"warm_spearman": float(spearmanr(scores[:, warm], tilt)[0]),
                           "bright_spearman": float(spearmanr(scores[:, bright], tilt)[0]),
                           "warm_vs_bright_spearman": float(spearmanr(warm_vs_bright, tilt)[0]),
                           "decoded_tilt_spearman": float(spearmanr(decoded_tilt, tilt)[0]),
                           "decoded_minus_balance_tilt_median": float(np.median(decoded_tilt - balance_tilt)),
                           "bright_above_warm_share": float(np.mean(scores[:, bright] > scores[:, warm])),
                           "n": len(audio)}
    return {
        "recovery_rms_db": {"median": float(np.median(recovery)), "p90": float(np.percentile(recovery, 90)),
                            "n_pairs": len(recovery)},
        "level_shift": {"max_latent_change": max(shifts), "warm_bright_distance": centroid_distance,
                        "max_fraction": max(shifts) / centroid_distance},
        "tilt_agreement": agreement,
    }


def inference_ms(model, repeats: int = 20) -> float:
    """Median wall time of one window through the model, torch eager, one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    x = torch.randn(1, WINDOW) * 0.1
    times = []
    with torch.no_grad():
        model(x)
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    torch.set_num_threads(threads)
    return 1000.0 * float(np.median(times))


def evaluate(checkpoints, space, folder=None, per_file: int = 8, eqs_per_clip: int = 8, seed: int = 0,
             music_dir=None, models=None) -> dict:
    """The report: {analyser name: metrics}, plus what was evaluated. ``models`` (name → AudioEncoder)
    adds models not read from checkpoints."""
    if folder is None:
        clips, names, hashes = validation_clips(per_file, music_dir)
        source = {"validation_tracks": sorted(set(names)), "deb_sha256": hashes}
    else:
        clips, names = folder_clips(folder, per_file)
        source = {"folder": str(folder), "files": sorted(set(names))}
    if len(clips) == 0:
        raise ValueError(f"no audio window of {WINDOW} samples found in {folder or 'the validation tracks'}")
    held_out = SafeEqSampler("test", seed=space.config["seed"], identity_share=0.0, jitter=False)
    rng = np.random.default_rng(seed)
    eq_index = rng.integers(0, len(held_out), (len(clips), eqs_per_clip))
    analysers = dict(models or {})
    analysers.update({str(p): load_checkpoint(p) for p in checkpoints})
    report = {"source": source, "n_clips": len(clips), "eqs_per_clip": eqs_per_clip, "eqspace": space.config,
              "held_out_eqs": f"SAFE-DB test split (by user, seed {space.config['seed']}), as saved",
              "data_sha256": held_out.sha256, "analysers": {}}
    for name, model in analysers.items():
        metrics = evaluate_analyser(model_analyser(model), space, clips, held_out.params, eq_index)
        metrics[INFERENCE_KEY] = inference_ms(model)
        report["analysers"][name] = metrics
    report["analysers"]["ltas"] = evaluate_analyser(ltas_analyser(space), space, clips, held_out.params, eq_index)
    baseline = report["analysers"]["ltas"]["recovery_rms_db"]["median"]
    for metrics in report["analysers"].values():
        metrics["recovery_rms_db"]["vs_ltas"] = metrics["recovery_rms_db"]["median"] / baseline
    return report


def format_table(report: dict) -> str:
    """The must-show numbers as a markdown table, one column per analyser."""
    names = list(report["analysers"])
    def clips(m):
        return m["tilt_agreement"]["clips"]

    def eq_clips(m):
        return m["tilt_agreement"]["eq_clips"]

    rows = [
        ("EQ-change recovery, median RMS dB (≤ 1.5)", lambda m: f"{m['recovery_rms_db']['median']:.2f}"),
        ("  … 90th percentile, dB", lambda m: f"{m['recovery_rms_db']['p90']:.2f}"),
        ("  … ÷ LTAS baseline (≤ 1.5)", lambda m: f"{m['recovery_rms_db']['vs_ltas']:.2f}"),
        ("±20 dB level: max latent change ÷ warm–bright distance (≤ 0.05)",
         lambda m: f"{m['level_shift']['max_fraction']:.2g}"),
        ("Spearman warm score vs tilt, clips (≤ −0.8)", lambda m: f"{clips(m)['warm_spearman']:+.2f}"),
        ("Spearman bright score vs tilt, clips (≥ +0.8)", lambda m: f"{clips(m)['bright_spearman']:+.2f}"),
        ("Spearman warm score vs tilt, EQ'd clips (≤ −0.8)", lambda m: f"{eq_clips(m)['warm_spearman']:+.2f}"),
        ("Spearman bright score vs tilt, EQ'd clips (≥ +0.8)", lambda m: f"{eq_clips(m)['bright_spearman']:+.2f}"),
        ("  diagnostic: Spearman warm/(warm+bright) vs tilt, clips",
         lambda m: f"{clips(m)['warm_vs_bright_spearman']:+.2f}"),
        ("  diagnostic: Spearman decoded curve's tilt vs tilt, clips",
         lambda m: f"{clips(m)['decoded_tilt_spearman']:+.2f}"),
        ("  diagnostic: median tilt of decoded curve − tilt of balance, clips (dB/octave)",
         lambda m: f"{clips(m)['decoded_minus_balance_tilt_median']:+.2f}"),
        ("  diagnostic: share of clips scored brighter than warm",
         lambda m: f"{clips(m)['bright_above_warm_share']:.2f}"),
        ("Inference, one window, torch eager, 1 thread (ms)",
         lambda m: f"{m[INFERENCE_KEY]:.1f}" if INFERENCE_KEY in m else "—"),
    ]
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines += [f"| {label} | " + " | ".join(cell(report["analysers"][n]) for n in names) + " |" for label, cell in rows]
    return "\n".join(lines) + f"\n\n{report['n_clips']} clips × {report['eqs_per_clip']} held-out EQs."


def add_arguments(parser):
    parser.add_argument("folder", nargs="?", help="folder of audio files (default: the packages' validation tracks)")
    add_evaluation_options(parser)


def add_evaluation_options(parser):
    parser.add_argument("--checkpoint", action="append", default=None,
                        help="audio-encoder checkpoint; repeat to compare several (default runs/audio/encoder.pt)")
    parser.add_argument("--report", help="write the numbers as JSON here (default: <first checkpoint>.eval.json)")
    parser.add_argument("--windows-per-file", type=int, default=8, help="evenly spaced windows per file (default 8)")
    parser.add_argument("--eqs-per-clip", type=int, default=8, help="held-out EQs per window (default 8)")


def run_evaluation(args, folder) -> dict:
    torch.set_num_threads(getattr(args, "threads", 1))
    checkpoints = args.checkpoint or ["runs/audio/encoder.pt"]
    space = load_eqspace(getattr(args, "eqspace", None) or DEFAULT_EQSPACE)
    report = evaluate(checkpoints, space, folder, args.windows_per_file, args.eqs_per_clip,
                      music_dir=getattr(args, "music_dir", None))
    print(format_table(report))
    out = Path(args.report or Path(checkpoints[0]).with_suffix(".eval.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out}")
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m semeq_train.audio.evaluate", description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--eqspace", default=DEFAULT_EQSPACE, help="EQ-space checkpoint (default runs/eq/eqspace.pt)")
    parser.add_argument("--music-dir", help="music cache (default $SEMEQ_MUSIC_DIR or ~/.cache/semeq/music)")
    args = parser.parse_args(argv)
    run_evaluation(args, args.folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
