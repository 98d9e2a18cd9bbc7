"""Quality of the Processor on validation music that no model saw in training (issue 6's must-shows).

Clips: ``--clips-per-track`` clips of ``--seconds`` s from each validation track of nexuiz-music and
hyperrogue-music (semeq_train.music's whole-track split), mono at 48 kHz. Each number is measured with
both analysis methods (the audio encoder, and the exact LTAS baseline) and, where it applies, static
mode as the flowEQ/Audealize-style baseline.

- identity     intensity 0: max |output − input|                                 (≤ 1e-6)
- direction    clips where "warm" output is darker than "bright" (lower spectral centroid AND higher
               energy ratio below 250 Hz / above 4 kHz)                           (all)
- convergence  std over clips of tonal tilt (dB/octave, 1/3-octave levels 50 Hz–16 kHz) after
               "warm" at intensity 1, over the input's std                       (≤ 50 %)
- compensation clip pre-EQ'd by e (the medoid SAFE-DB "warm" and "bright" settings): the applied EQ
               changes by ≈ −e; RMS of (change + e), level removed, over RMS of e; median (≤ 30 %)
- second pass  "warm" applied to the "warm" output: RMS of its EQ over the first pass's; median (≤ 30 %)
- stability    RMS (dB, 50 Hz–16 kHz) of the applied response's change between analysis hops (≤ 0.5)

Applied EQs are read with ``Processor.applied_response`` at the end of a clip (primed with the clip's
first seconds, as ``semeq process`` does). Run: ``python bench/quality_processor.py [--bundle DIR] [--json out.json]``.
Needs the music packages (``python -m semeq_train.music fetch``) and the SAFE-DB file.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import semeq_rt
from semeq_rt import FilterBank, eqdef, measures
from semeq_rt.fileio import PRIME_SECONDS

SR = 48000
GRID = eqdef.FREQ_GRID[(eqdef.FREQ_GRID >= 50) & (eqdef.FREQ_GRID <= 16000)]
BLOCK = 4096


def without_level(curve):
    return curve - curve.mean()


def rms(values):
    return float(np.sqrt(np.mean(np.square(values))))


def validation_clips(seconds, per_track):
    from semeq_train import music

    tracks = music.list_tracks(packages=("nexuiz-music", "hyperrogue-music"))
    _, validation = music.split_tracks(tracks)
    clips = []
    for track in validation:
        mid = np.asarray(music.load_mid(track, SR), dtype=np.float32)
        n = int(seconds * SR)
        for k in range(per_track):
            start = int((k + 1) / (per_track + 1) * len(mid)) - n // 2
            start = min(max(start, 0), max(len(mid) - n, 0))
            clip = mid[start:start + n]
            if len(clip) == n and np.max(np.abs(clip)) > 1e-3:
                clips.append((f"{track.name}@{start / SR:.0f}s", clip[None, :].copy()))
    return clips


def typical_safe_setting(term):
    """The medoid (in dB response, RMS distance) of SAFE-DB's settings for ``term``: a real user's EQ."""
    from semeq_train.data_paths import data_file
    from semeq_train.eqspace.data import SAFE_FILE, load_safe
    from semeq_train.eqspace.vocab import normalise

    safe = load_safe(data_file(SAFE_FILE))
    params = safe.params[[normalise(t) == term for t in safe.text]]
    curves = eqdef.params_response_db(params, GRID)
    distance = np.sqrt(((curves[:, None, :] - curves[None, :, :]) ** 2).mean(axis=-1)).sum(axis=1)
    return eqdef.params_to_bands(params[int(np.argmin(distance))])


def apply_bands(audio, bands):
    fb = FilterBank(SR, audio.shape[0])
    fb.set_bands(bands)
    return fb.process(audio)


#: Processor options given on the command line (adaptation time, fit iterations), for every run.
TUNING = {}


def run(term, audio, **options):
    """(output, applied response dB on GRID at the end) of a primed processor over ``audio``."""
    p = semeq_rt.Processor(term, sample_rate=SR, channels=audio.shape[0], **{**TUNING, **options})
    p.prime(audio[:, : int(PRIME_SECONDS * SR)])
    out = np.concatenate([p.process(audio[:, i:i + BLOCK]) for i in range(0, audio.shape[1], BLOCK)], axis=1)
    return out, p.applied_response(GRID)


def hop_changes(audio, analysis):
    """RMS change (dB) of the applied response between consecutive analysis hops."""
    p = semeq_rt.Processor("warm", sample_rate=SR, channels=audio.shape[0], analysis=analysis, **TUNING)
    p.prime(audio[:, : int(PRIME_SECONDS * SR)])
    window, interval = p.analysis_window_samples, p.analysis_interval_samples
    p.process(audio[:, :window])
    previous, changes = p.applied_response(GRID), []
    for start in range(window, audio.shape[1] - interval + 1, interval):
        p.process(audio[:, start:start + interval])
        current = p.applied_response(GRID)
        changes.append(rms(current - previous))
        previous = current
    return changes


def evaluate(clips, analysis, e_bands):
    rows = {"identity": [], "darker": [], "tilt_in": [], "tilt_warm": [], "tilt_static": [],
            "compensation": {t: [] for t in e_bands}, "second_pass": [], "hop_change": []}
    for name, x in clips:
        zero, _ = run("warm", x, intensity=0.0, analysis=analysis)
        rows["identity"].append(float(np.max(np.abs(zero - x))))
        warm, applied_flat = run("warm", x, analysis=analysis)
        bright, _ = run("bright", x, analysis=analysis)
        rows["darker"].append(bool(measures.spectral_centroid(warm, SR) < measures.spectral_centroid(bright, SR)
                                   and measures.low_high_ratio_db(warm, SR) > measures.low_high_ratio_db(bright, SR)))
        rows["tilt_in"].append(measures.tonal_tilt(x, SR))
        rows["tilt_warm"].append(measures.tonal_tilt(warm, SR))
        static_warm, _ = semeq_rt.Processor("warm", sample_rate=SR, channels=1, mode="static",
                                               bundle=TUNING.get("bundle")).process(x), None
        rows["tilt_static"].append(measures.tonal_tilt(static_warm, SR))
        for term, bands in e_bands.items():
            e = without_level(eqdef.bands_response_db(bands, GRID, SR))
            _, applied = run("warm", apply_bands(x, bands), analysis=analysis)
            rows["compensation"][term].append(rms(without_level(applied - applied_flat + e)) / rms(e))
        _, applied_second = run("warm", warm, analysis=analysis)
        rows["second_pass"].append(rms(without_level(applied_second)) / rms(without_level(applied_flat)))
        rows["hop_change"].extend(hop_changes(x, analysis))
        print(f"  {analysis:7s} {name}: tilt {rows['tilt_in'][-1]:+.2f} → {rows['tilt_warm'][-1]:+.2f} dB/oct, "
              f"darker {rows['darker'][-1]}, compensation "
              + ", ".join(f"{t} {v[-1]:.0%}" for t, v in rows["compensation"].items())
              + f", second pass {rows['second_pass'][-1]:.0%}", flush=True)
    hop = np.array(rows["hop_change"])
    return {
        "clips": len(clips),
        "identity_max_abs": max(rows["identity"]),
        "darker_clips": int(sum(rows["darker"])),
        "tilt_std_input": float(np.std(rows["tilt_in"])),
        "tilt_std_warm": float(np.std(rows["tilt_warm"])),
        "tilt_std_ratio": float(np.std(rows["tilt_warm"]) / np.std(rows["tilt_in"])),
        "tilt_std_ratio_static": float(np.std(rows["tilt_static"]) / np.std(rows["tilt_in"])),
        "compensation_median": {t: float(np.median(v)) for t, v in rows["compensation"].items()},
        "second_pass_median": float(np.median(rows["second_pass"])),
        "hop_change_db": {"median": float(np.median(hop)), "p95": float(np.percentile(hop, 95)),
                          "max": float(np.max(hop))},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clips-per-track", type=int, default=3)
    parser.add_argument("--analysis", nargs="+", default=["encoder", "ltas"])
    parser.add_argument("--adaptation-time", type=float, help="Processor adaptation_time (s)")
    parser.add_argument("--fit-iterations", type=int, help="Processor fit_iterations (LTAS analysis)")
    parser.add_argument("--analysis-interval", type=float, help="Processor analysis_interval (s)")
    parser.add_argument("--max-gain-db", type=float, help="Processor max_gain_db")
    parser.add_argument("--bundle", help="model bundle folder (default: the shipped one)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    if args.adaptation_time is not None:
        TUNING["adaptation_time"] = args.adaptation_time
    if args.fit_iterations is not None:
        TUNING["fit_iterations"] = args.fit_iterations
    if args.analysis_interval is not None:
        TUNING["analysis_interval"] = args.analysis_interval
    if args.max_gain_db is not None:
        TUNING["max_gain_db"] = args.max_gain_db
    if args.bundle is not None:
        TUNING["bundle"] = args.bundle
    started = time.time()
    clips = validation_clips(args.seconds, args.clips_per_track)
    e_bands = {t: typical_safe_setting(t) for t in ("warm", "bright")}
    print(f"{len(clips)} validation clips of {args.seconds:g} s; pre-EQs: " +
          "; ".join(f"{t}: " + ", ".join(f"{k} {f:.0f} Hz {g:+.1f} dB" for k, f, g, _ in b) for t, b in e_bands.items()))
    results = {a: evaluate(clips, a, e_bands) for a in args.analysis}
    print(json.dumps(results, indent=2))
    print(f"({time.time() - started:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
