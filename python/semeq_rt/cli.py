"""semeq: semantic EQ for audio files.

  semeq process IN OUT --term warm --intensity 0.8     EQ a file toward a word (or a blend)
  semeq batch IN_DIR OUT_DIR --term warm [--ray]       every file of a folder, with a manifest
  semeq analyze IN [--plot out.png]                    which words describe a file, over time
  semeq terms                                          the words semeq knows
  semeq plot TERM out.png                              a word's EQ curve
  semeq demo                                           make a short example and process it
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from . import __version__

EXIT_USAGE = 2
#: As a program killed by SIGPIPE reports it to the shell (128 + 13).
EXIT_BROKEN_PIPE = 141


def parse_term(text: str):
    """'warm' → 'warm'; 'warm:0.7,airy:0.3' → {'warm': 0.7, 'airy': 0.3}."""
    if ":" not in text and "," not in text:
        return text
    blend = {}
    for part in text.split(","):
        name, sep, weight = part.partition(":")
        try:
            blend[name.strip()] = float(weight) if sep else 1.0
        except ValueError:
            raise ValueError(f"cannot read the weight in {part!r}: write a blend as warm:0.7,airy:0.3") from None
    return blend


def _intensity(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not -1.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number in [-1, 1], got {text!r}")
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _cmd_process(args):
    from .fileio import process_file

    summary = process_file(args.input, args.output, term=parse_term(args.term), intensity=args.intensity,
                           mode=args.mode, overwrite=args.overwrite, blocksize=args.blocksize,
                           progress=not args.quiet, subtype=args.subtype, analysis=args.analysis,
                           loudness_compensation=args.loudness_compensation, bundle=args.bundle)
    if not args.quiet:
        print(f"wrote {args.output}: {summary['frames']} frames, {summary['sample_rate']} Hz, "
              f"{summary['channels']} ch, {summary['format']} {summary['subtype']}", file=sys.stderr)
        if summary["subtype"] != summary["source_subtype"] and args.subtype is None:
            print(f"note: {summary['format']} files cannot store the input's {summary['source_subtype']}; "
                  f"wrote {summary['subtype']}, the closest they can (--subtype chooses another)", file=sys.stderr)
        loudness_in, loudness_out = summary["loudness_in_lufs"], summary["loudness_out_lufs"]
        loudness = (f"loudness {loudness_in:.1f} → {loudness_out:.1f} LUFS ({loudness_out - loudness_in:+.1f} LU)"
                    if np.isfinite(loudness_in) and np.isfinite(loudness_out) else "loudness: too short or silent")
        print(f"EQ: largest boost {summary['largest_boost_db']:+.1f} dB, "
              f"largest cut {summary['largest_cut_db']:+.1f} dB; {loudness}; "
              f"output peak {summary['output_peak_dbfs']:+.1f} dBFS", file=sys.stderr)
    if summary["clipped_samples"]:
        print(f"semeq: warning: the output peaks at {summary['output_peak_dbfs']:+.1f} dBFS: "
              f"{summary['clipped_samples']} samples were clipped to full scale, since {summary['subtype']} cannot "
              "store more; write floats to keep them (--subtype FLOAT), or lower --intensity", file=sys.stderr)
    return 0


def _cmd_batch(args):
    from .batch import run_batch

    rows = run_batch(args.input, args.output, term=parse_term(args.term), intensity=args.intensity, mode=args.mode,
                     workers=args.workers, analyze_only=args.analyze_only, fmt=args.format, progress=not args.quiet,
                     ray=args.ray)
    counts = {status: sum(r["status"] == status for r in rows) for status in ("ok", "skipped", "failed")}
    hours = sum(r.get("seconds") or 0.0 for r in rows) / 3600.0
    print(f"semeq batch: {counts['ok']} ok, {counts['skipped']} skipped, {counts['failed']} failed "
          f"({hours:.2f} h of audio); manifest: {Path(args.output) / 'manifest.parquet'}", file=sys.stderr)
    for row in rows:
        if row["status"] == "failed":
            print(f"  failed: {row['path']}: {row['error']}", file=sys.stderr)
    return 0 if counts["failed"] == 0 else 1


def _cmd_analyze(args):
    from .analysis import analyze
    from .fileio import ProgressBar, check_output_path, read_audio

    if args.plot:  # fail before the work, not after it
        from .plotting import image_path, require_matplotlib

        require_matplotlib()
        check_output_path(image_path(args.plot), args.overwrite)
    audio, rate = read_audio(args.input)
    if audio.shape[1] == 0:
        raise ValueError(f"{args.input} holds no audio (0 frames)")
    # the mid: a 1-frame file is not taken for (samples, channels)
    bar = ProgressBar(1, f"semeq analyze {Path(args.input).name}", sys.stderr.isatty())
    try:
        result = analyze(audio.mean(axis=0), rate, analysis=args.analysis, bundle=args.bundle,
                         progress=bar.to)
    finally:
        bar.close()
    print(f"{args.input}: {audio.shape[1] / rate:.1f} s, {len(result.times)} windows ({result.method})")
    print("terms (clip):")
    for name, score in list(result.scores.items())[: args.top]:
        print(f"  {name:<16} {score:6.3f}")
    print("over time (best term per window):")
    step = max(1, len(result.times) // 20)
    for t, scores in list(zip(result.times, result.window_scores()))[::step]:
        name, score = next(iter(scores.items()))
        print(f"  {t:7.2f} s  {name:<16} {score:6.3f}")
    freqs = np.array([63.0, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0])
    print("tonal balance vs neutral reference (dB): " +
          "  ".join(f"{f:g} Hz {v:+.1f}" for f, v in zip(freqs, result.curve(freqs))))
    if args.plot:
        from .plotting import plot_analysis

        written = plot_analysis(args.plot, result, f"semeq analyze {args.input}", overwrite=args.overwrite)
        print(f"wrote {written}")
    return 0


def _cmd_terms(args):
    from . import vocabulary
    from .semantics import get_bundle, resolve_blend, terms

    bundle = get_bundle(args.bundle)
    if args.words:
        for text in args.words:
            (name,) = resolve_blend(text, bundle)
            if name in bundle.terms:
                print(f"{text}: the known word {name!r} ({bundle.terms[name].count} contributions)")
            else:
                placed = vocabulary.placer(bundle).place(name)
                near = ", ".join(f"{w} {weight:.0%}" for w, weight in placed.neighbours)
                print(f"{text}: placed from its text (confidence {placed.confidence:.2f}), nearest: {near}")
        return 0
    names = terms(bundle)
    shown = names if args.all else names[:args.top]
    print(f"{'word':<16} {'support':>7}  {'SAFE':>4} {'SocialFX':>8} {'Audealize':>9}  agreement")
    for name in shown:
        term = bundle.terms[name]
        counts = term.counts or {}
        agreement = "" if term.agreement is None else f"{term.agreement:9.2f}"
        print(f"{name:<16} {term.count:7d}  {counts.get('safe', 0):4d} {counts.get('socialfx', 0):8d} "
              f"{counts.get('audealize', 0):9d}  {agreement}")
    more = f"; --all lists all {len(names)}" if len(shown) < len(names) else ""
    opened = " Any other word or short phrase is placed from its text (semeq terms WORD shows how)." \
        if bundle.text else ""
    print(f"{len(shown)} of {len(names)} known words, most contributions first{more}.{opened}")
    return 0


def _cmd_plot(args):
    from . import eqdef
    from .plotting import plot_curves, require_matplotlib
    from .semantics import blend_latent, get_bundle, realisable_bands, resolve_blend

    require_matplotlib()
    bundle = get_bundle(args.bundle)
    weights = resolve_blend(parse_term(args.term), bundle)
    params = bundle.decode_params(blend_latent(weights, bundle))
    rate = eqdef.REFERENCE_SAMPLE_RATE
    freqs = np.geomspace(20.0, 20000.0, 241)
    curve = eqdef.bands_response_db(realisable_bands(params, rate, gain_scale=args.intensity), freqs, rate)
    label = ", ".join(f"{n} {w:.2f}" for n, w in weights.items())
    written = plot_curves(args.output, freqs, {label: curve},
                          f"semeq: EQ of {label} (static, intensity {args.intensity:g})", overwrite=args.overwrite)
    print(f"wrote {written}")
    return 0


def _cmd_demo(args):
    from .demo import run_demo

    run_demo(args.out, overwrite=args.overwrite)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="semeq", description=__doc__.splitlines()[0],
                                     epilog="\n".join(__doc__.splitlines()[2:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"semeq {__version__}")
    parser.add_argument("--bundle", help="model bundle folder (default: the shipped models)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def overwrite_flag(p):
        p.add_argument("-y", "--overwrite", action="store_true", help="replace output files that exist")

    p = sub.add_parser("process", help="EQ an audio file toward a word")
    p.add_argument("input", help="audio file (any format soundfile reads)")
    p.add_argument("output", help="output file; its extension picks the format (sample rate, channels "
                                  "and, where the format allows, the subtype are kept)")
    p.add_argument("-t", "--term", default="warm", help="a word, or a blend like warm:0.7,airy:0.3 (default warm)")
    p.add_argument("-i", "--intensity", type=_intensity, default=1.0,
                   help="-1 to 1: 1 moves the audio into the word's range, 0 leaves it unchanged, negative values "
                        "move it away from the word (default 1)")
    p.add_argument("--mode", choices=("adaptive", "static"), default="adaptive",
                   help="adaptive: move the audio's own balance toward the word; static: the word's fixed curve")
    p.add_argument("--analysis", choices=("encoder", "ltas"), default="encoder",
                   help="how adaptive mode measures the audio (default: the audio encoder)")
    p.add_argument("--blocksize", type=_positive_int, default=65536, help="frames per block (default 65536)")
    p.add_argument("--subtype", help="output subtype, e.g. FLOAT or PCM_24 (default: the input's)")
    p.add_argument("--loudness-compensation", action=argparse.BooleanOptionalAction, default=None,
                   help="keep the K-weighted loudness unchanged (default: on in adaptive mode, off in static)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    overwrite_flag(p)
    p.set_defaults(run=_cmd_process)

    p = sub.add_parser("batch", help="EQ (or analyse) every audio file under a folder, with a manifest")
    p.add_argument("input", help="folder of audio files (searched recursively)")
    p.add_argument("output", help="folder for the outputs (same relative paths) and manifest.parquet")
    p.add_argument("-t", "--term", default="warm", help="a word, or a blend like warm:0.7,airy:0.3 (default warm)")
    p.add_argument("-i", "--intensity", type=_intensity, default=1.0, help="-1 to 1 (default 1)")
    p.add_argument("--mode", choices=("adaptive", "static"), default="adaptive")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="worker processes (default: the machine's cores)")
    p.add_argument("--analyze-only", action="store_true", help="write only the manifest (term scores per file)")
    p.add_argument("--format", help="output format as an extension, e.g. flac (default: each input's own)")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="run on Ray Data instead of the local pool: a new local Ray instance, or a cluster "
                        "(auto, ray://host:10001); needs pip install \"semeq[ray]\"")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_batch)

    p = sub.add_parser("analyze", help="which words describe an audio file, over time")
    p.add_argument("input", help="audio file (any format soundfile reads)")
    p.add_argument("--plot", metavar="PNG", help="also plot term scores over time and the balance curve")
    p.add_argument("--analysis", choices=("encoder", "ltas"), default="encoder",
                   help="the audio encoder (default) or the exact long-term spectrum")
    p.add_argument("--top", type=_positive_int, default=8, help="terms to list (default 8)")
    overwrite_flag(p)
    p.set_defaults(run=_cmd_analyze)

    p = sub.add_parser("terms", help="list the words semeq knows, most-supported first, or say how it places words")
    p.add_argument("words", nargs="*", metavar="WORD",
                   help="words or phrases to explain: known, or placed from their text (and from which words)")
    p.add_argument("--all", action="store_true", help="every known word (default: the most supported)")
    p.add_argument("--top", type=_positive_int, default=40, help="known words to list (default 40)")
    p.set_defaults(run=_cmd_terms)

    p = sub.add_parser("plot", help="plot a word's (or blend's) EQ curve to a PNG file")
    p.add_argument("term", help="a word, or a blend like warm:0.7,airy:0.3")
    p.add_argument("output", metavar="PNG", help="image file (.png added when it has no extension)")
    p.add_argument("-i", "--intensity", type=_intensity, default=1.0,
                   help="-1 to 1: the gains' scale (negative: the word's EQ inverted; default 1)")
    overwrite_flag(p)
    p.set_defaults(run=_cmd_plot)

    p = sub.add_parser("demo", help="make a short example, process it warm and bright, and measure")
    p.add_argument("--out", default="semeq-demo",
                   help="folder for the files (default ./semeq-demo, which .gitignore lists)")
    overwrite_flag(p)
    p.set_defaults(run=_cmd_demo)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # the reader went away (`semeq analyze … | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (ValueError, TypeError, OSError, RuntimeError, ImportError) as e:
        print(f"semeq: error: {_one_line(e)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("semeq: interrupted", file=sys.stderr)
        return 130


def _one_line(error) -> str:
    """An error as one line: an OSError's own words and file, else its message."""
    if isinstance(error, OSError) and error.strerror:
        return f"{error.filename}: {error.strerror}" if error.filename else error.strerror
    return " ".join(str(error).split())


if __name__ == "__main__":
    raise SystemExit(main())
