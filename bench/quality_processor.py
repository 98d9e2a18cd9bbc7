"""Quality of the Processor on validation music that no model saw in training: what the EQ does (issue
6's must-shows) and how far it goes (adaptive safety).

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
first seconds, as ``semeq process`` does).

Adaptive safety (``--safety``), on two validation sets: the training packages' held-out tracks
(``--clips-per-track`` clips each) and the held-out packages that nothing in the project has seen
(``semeq_train.music.HELD_OUT_PACKAGES``: a 22.05 kHz MP3 soundtrack, dark and thin 44.1 kHz Vorbis,
sub-bass-heavy and low-passed electronic music; one clip per track), each clip at its own rate and
channel count, "warm" and "bright" at intensity 1 through the file path (``semeq_rt.process_file``),
measured by ``measures.eq_change``:

- loudness     integrated loudness change (BS.1770)                                 (within ±1.5 LU)
- peak         sample peak rise                                                      (≤ 6 dB)
- boost        largest 1/3-octave band rise (50 Hz–16 kHz, below 0.45·fs) relative to the loudness
               change                                                                (≤ 12 dB)
- empty        the same in bands ≥ 60 dB below the input's loudest band              (≤ 6 dB)
- darker       "warm" darker than "bright" (as for direction above)                  (all)
- start        streams without prime: seconds until the first EQ; RMS (dB) between the final EQ of a
               60-s stream and the primed file path's                                (≤ 0.5 s, ≤ 1 dB)

Run: ``python bench/quality_processor.py [--bundle DIR] [--json out.json] [--safety-only]``. Needs the
music packages (``python -m semeq_train.music fetch --held-out``) and the SAFE-DB file.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np

import semeq_rt
from semeq_rt import FilterBank, eqdef, measures
from semeq_rt.fileio import PRIME_SECONDS, process_file

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
    from semeq_rt.words import normalise

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
#: Intensity of the adaptive-safety renders (--intensity; negative: away from the words).
SAFETY_INTENSITY = 1.0
#: Words of the adaptive-safety renders (``--terms``).
SAFETY_TERMS = ("warm", "bright")


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


def file_clips(packages, seconds, per_track, held_out_split):
    """(name, (channels, samples) float32, rate) clips of ``seconds`` from each track of ``packages`` at its
    own rate (the validation split's tracks only when ``held_out_split``), ``per_track`` evenly spaced."""
    import soundfile

    from semeq_train import music

    music.fetch(packages)
    tracks = music.list_tracks(packages)
    if held_out_split:
        _, tracks = music.split_tracks(tracks)
    clips = []
    for track in tracks:
        info = soundfile.info(str(track.path))
        n = int(seconds * info.samplerate)
        if info.frames < n:
            continue
        for k in range(per_track):
            start = min(max(int((k + 1) / (per_track + 1) * info.frames) - n // 2, 0), info.frames - n)
            audio, rate = soundfile.read(str(track.path), start=start, frames=n, dtype="float32", always_2d=True)
            if np.max(np.abs(audio)) > 1e-3:
                clips.append((f"{track.package}:{track.name.rsplit('/', 1)[-1]}@{start / rate:.0f}s",
                              np.ascontiguousarray(audio.T), rate))
    return clips


def through_file_path(audio, rate, term):
    """``audio`` processed by ``process_file`` at SAFETY_INTENSITY (written and read back as float WAV)."""
    import soundfile

    with tempfile.TemporaryDirectory() as folder:
        src, dst = os.path.join(folder, "in.wav"), os.path.join(folder, "out.wav")
        soundfile.write(src, audio.T, rate, subtype="FLOAT")
        process_file(src, dst, term=term, intensity=SAFETY_INTENSITY, subtype="FLOAT", **TUNING)
        out, _ = soundfile.read(dst, dtype="float32", always_2d=True)
    return np.ascontiguousarray(out.T)


#: What each safety measure must stay within (``measures.eq_change``'s keys).
SAFETY_BOUNDS = {"loudness_change_lu": 1.5, "peak_rise_db": 6.0, "largest_boost_db": 12.0,
                 "largest_empty_boost_db": 6.0}


def evaluate_safety(clips):
    rows = []
    for name, x, rate in clips:
        outputs, changes = {}, {}
        for term in SAFETY_TERMS:
            outputs[term] = through_file_path(x, rate, term)
            change = measures.eq_change(x, outputs[term], rate)
            changes[term] = {key: change[key] for key in SAFETY_BOUNDS} | {"largest_cut_db": change["largest_cut_db"]}
        # "darker": in the words' order ("warm" darker than "bright"; at a negative intensity the other way)
        darker = None
        if {"warm", "bright"} <= set(outputs):
            warm, bright = (outputs["warm"], outputs["bright"]) if SAFETY_INTENSITY >= 0 else \
                (outputs["bright"], outputs["warm"])
            darker = bool(measures.spectral_centroid(warm, rate) < measures.spectral_centroid(bright, rate)
                          and measures.low_high_ratio_db(warm, rate) > measures.low_high_ratio_db(bright, rate))
        rows.append({"clip": name, "rate": rate, "darker": darker, **changes})
        print(f"  {name[:44]:44s} {rate:5d} Hz darker {darker!s:5} | " + " | ".join(
            f"{t} {v['loudness_change_lu']:+5.1f} LU, peak {v['peak_rise_db']:+5.1f}, "
            f"boost {v['largest_boost_db']:+5.1f}, cut {v['largest_cut_db']:+6.1f}, "
            f"empty {v['largest_empty_boost_db']:+5.1f} dB" for t, v in changes.items()), flush=True)
    renders = [row[t] for row in rows for t in SAFETY_TERMS]
    summary = {"clips": len(rows), "renders": len(renders), "terms": list(SAFETY_TERMS),
               "warm_darker_clips": sum(bool(r["darker"]) for r in rows),
               "not_darker": [r["clip"] for r in rows if r["darker"] is False]}
    for key in SAFETY_BOUNDS:  # the worst render of each term
        summary[f"{key}_worst_by_term"] = {t: float(max((row[t][key] for row in rows),
                                                        key=abs if key == "loudness_change_lu" else float))
                                           for t in SAFETY_TERMS}
    for key, bound in SAFETY_BOUNDS.items():
        values = np.array([r[key] for r in renders])
        outside = np.abs(values) > bound if key == "loudness_change_lu" else values > bound
        summary[key] = {"outside": int(outside.sum()), "max": float(values.max()), "min": float(values.min()),
                        "bound": bound}
    return summary


def streaming_start(clips, seconds=60.0):
    """Per clip of ``seconds`` (no prime): the stream position (s) at which the EQ first differs from flat,
    and the RMS (dB, 50 Hz–16 kHz) between the stream's final EQ and that of the primed file path."""
    starts, differences = [], []
    for name, x, rate in clips:
        grid = GRID[GRID < eqdef.MAX_FREQ_FRACTION * rate]
        stream = semeq_rt.Processor("warm", sample_rate=rate, channels=x.shape[0], **TUNING)
        first = None
        for start in range(0, x.shape[1], 512):
            stream.process(x[:, start:start + 512])
            if first is None and np.max(np.abs(stream.applied_response(grid))) > 0.1:
                first = (start + 512) / rate
        primed = semeq_rt.Processor("warm", sample_rate=rate, channels=x.shape[0], **TUNING)
        primed.prime(x[:, : int(PRIME_SECONDS * rate)])
        for start in range(0, x.shape[1], 65536):
            primed.process(x[:, start:start + 65536])
        starts.append(first)
        differences.append(rms(stream.applied_response(grid) - primed.applied_response(grid)))
        print(f"  {name[:44]:44s} first EQ at {first} s; final EQ vs primed: {differences[-1]:.2f} dB RMS", flush=True)
    return {"clips": len(clips), "first_eq_s_max": max(s for s in starts if s is not None),
            "never": sum(s is None for s in starts), "final_vs_primed_db_rms_max": float(max(differences)),
            "final_vs_primed_db_rms_median": float(np.median(differences))}


def safety(clips_per_track):
    from semeq_train import music

    sets = {"validation split": file_clips(music.MUSIC_PACKAGES, 20.0, clips_per_track, True),
            "held-out packages": file_clips(tuple(music.HELD_OUT_PACKAGES), 20.0, 1, False)}
    results = {}
    for label, clips in sets.items():
        print(f"\nadaptive safety, {label}: {len(clips)} clips of 20 s, {', '.join(SAFETY_TERMS)} at intensity "
              f"{SAFETY_INTENSITY:g}")
        results[label] = evaluate_safety(clips)
    long_clips = (file_clips(music.MUSIC_PACKAGES, 60.0, 1, True)[::3]
                  + file_clips(tuple(music.HELD_OUT_PACKAGES), 60.0, 1, False)[::6])
    print(f"\nstreams without prime: {len(long_clips)} clips of 60 s")
    results["start"] = streaming_start(long_clips)
    return results


def main(argv=None):
    global SAFETY_INTENSITY, SAFETY_TERMS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clips-per-track", type=int, default=3)
    parser.add_argument("--analysis", nargs="+", default=["encoder", "ltas"])
    parser.add_argument("--adaptation-time", type=float, help="Processor adaptation_time (s)")
    parser.add_argument("--fit-iterations", type=int, help="Processor fit_iterations (LTAS analysis)")
    parser.add_argument("--analysis-interval", type=float, help="Processor analysis_interval (s)")
    parser.add_argument("--max-boost-db", type=float, help="Processor max_boost_db")
    parser.add_argument("--max-cut-db", type=float, help="Processor max_cut_db")
    parser.add_argument("--safety-only", action="store_true", help="only the adaptive-safety measures")
    parser.add_argument("--bundle", help="model bundle folder (default: the shipped one)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--terms", nargs="+", default=list(SAFETY_TERMS),
                        help="words of the adaptive-safety renders (default warm bright; 'darker' needs both)")
    parser.add_argument("--intensity", type=float, default=1.0,
                        help="intensity of the adaptive-safety renders (default 1; -1: away from the words)")
    args = parser.parse_args(argv)
    SAFETY_INTENSITY, SAFETY_TERMS = args.intensity, tuple(args.terms)
    if args.adaptation_time is not None:
        TUNING["adaptation_time"] = args.adaptation_time
    if args.fit_iterations is not None:
        TUNING["fit_iterations"] = args.fit_iterations
    if args.analysis_interval is not None:
        TUNING["analysis_interval"] = args.analysis_interval
    if args.max_boost_db is not None:
        TUNING["max_boost_db"] = args.max_boost_db
    if args.max_cut_db is not None:
        TUNING["max_cut_db"] = args.max_cut_db
    if args.bundle is not None:
        TUNING["bundle"] = args.bundle
    started = time.time()
    results = {}
    if not args.safety_only:
        clips = validation_clips(args.seconds, args.clips_per_track)
        e_bands = {t: typical_safe_setting(t) for t in ("warm", "bright")}
        print(f"{len(clips)} validation clips of {args.seconds:g} s; pre-EQs: " +
              "; ".join(f"{t}: " + ", ".join(f"{k} {f:.0f} Hz {g:+.1f} dB" for k, f, g, _ in b)
                        for t, b in e_bands.items()))
        results = {a: evaluate(clips, a, e_bands) for a in args.analysis}
    results["safety"] = safety(args.clips_per_track)
    print(json.dumps(results, indent=2))
    print(f"({time.time() - started:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
