"""The neutral reference of the tonal balance: the mean long-term spectrum of the training tracks of
the music packages (``semeq_rt.ltas.MUSIC_REFERENCE_DB`` holds the result), and the measurements
that justify it over pink noise (docs/audio-encoder.md).

``python -m semeq_train.audio.reference`` fetches the music, recomputes the reference, prints it as the
literal that ltas.py holds, and prints per-track spectral tilts relative to pink noise.
"""
from __future__ import annotations

import argparse

import numpy as np

from semeq_rt import eqdef, ltas

from .. import music

#: Packages whose training tracks define "a typical production" (drum hits are not productions).
REFERENCE_PACKAGES = music.MUSIC_PACKAGES
#: The mean spectrum is smoothed to this many octaves, so the reference keeps the corpus's broad
#: shape but not the resonances of a few tracks.
REFERENCE_SMOOTHING_OCTAVES = 1.0
_BAND_LOG2F = np.log2(eqdef.FREQ_GRID[ltas.BAND_MASK])


def octave_smooth(band_values: np.ndarray, octaves: float = REFERENCE_SMOOTHING_OCTAVES) -> np.ndarray:
    """Mean over ±octaves/2 around each in-band grid point (truncated at the band's edges)."""
    near = np.abs(_BAND_LOG2F[:, None] - _BAND_LOG2F[None, :]) <= octaves / 2 + 1e-9
    return (near @ band_values) / near.sum(axis=1).reshape((-1,) + (1,) * (np.ndim(band_values) - 1))


def tilt_db_per_octave(curve_db) -> np.ndarray:
    """Slope (dB/octave) of a line fitted to a curve's values over the analysis band; (..., 121)."""
    band = np.asarray(curve_db)[..., ltas.BAND_MASK]
    x = _BAND_LOG2F - _BAND_LOG2F.mean()
    return (band * x).sum(axis=-1) / (x * x).sum()


def track_ltas(tracks, cache_dir=None) -> np.ndarray:
    """(n_tracks, 121) whole-track ``ltas_db`` of each track."""
    return np.stack([ltas.ltas_db(music.load_mid(t, ltas.SAMPLE_RATE, cache_dir)) for t in tracks])


def music_reference_db(cache_dir=None) -> np.ndarray:
    """Recompute MUSIC_REFERENCE_DB from the training split (fetches the packages if needed)."""
    music.fetch(REFERENCE_PACKAGES, cache_dir)
    train, _ = music.split_tracks(music.list_tracks(REFERENCE_PACKAGES, cache_dir))
    mean = track_ltas(train, cache_dir).mean(axis=0)[ltas.BAND_MASK]
    smooth = octave_smooth(mean)
    return ltas.hold_edges(smooth - smooth.mean())


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m semeq_train.audio.reference", description=__doc__.splitlines()[0])
    parser.add_argument("--music-dir", help="music cache (default $SEMEQ_MUSIC_DIR or ~/.cache/semeq/music)")
    parser.add_argument("--eqspace", help="EQ-space checkpoint: also count tracks darker than reference + 'warm'")
    args = parser.parse_args(argv)
    reference = music_reference_db(args.music_dir)
    print("MUSIC_REFERENCE_DB = np.array([")
    for row in np.round(reference, 2).reshape(-1, 11):
        print("    " + ", ".join(f"{v:.2f}" for v in row) + ",")
    print("])")
    tracks = music.list_tracks(REFERENCE_PACKAGES, args.music_dir)
    _, validation = music.split_tracks(tracks)
    curves = track_ltas(tracks, args.music_dir)
    tilts = tilt_db_per_octave(curves) - tilt_db_per_octave(ltas.pink_reference_db())
    for track, tilt in zip(tracks, tilts):
        print(f"{'val  ' if track in validation else 'train'} {track.package:17s} {track.name.split('/')[-1]:28s}"
              f" tilt vs pink {tilt:+.2f} dB/oct")
    print(f"all {len(tracks)} tracks: tilt vs pink median {np.median(tilts):+.2f}, mean {tilts.mean():+.2f},"
          f" sd {tilts.std():.2f} dB/oct; reference vs pink"
          f" {tilt_db_per_octave(reference) - tilt_db_per_octave(ltas.pink_reference_db()):+.2f} dB/oct")
    for name, ref in (("pink noise", ltas.pink_reference_db()), ("music reference", reference)):
        diff = (curves[[t in validation for t in tracks]] - ref)[:, ltas.BAND_MASK]
        diff -= diff.mean(axis=1, keepdims=True)
        print(f"validation tracks' level-free RMS distance from {name}: median"
              f" {np.median(np.sqrt(np.mean(diff**2, axis=1))):.2f} dB")
    if args.eqspace:
        from ..eqspace import load_checkpoint

        warm = tilt_db_per_octave(np.asarray(load_checkpoint(args.eqspace).terms["warm"]["curve_db"]))
        for name, ref in (("pink noise", ltas.pink_reference_db()), ("music reference", reference)):
            darker = int(np.sum(tilt_db_per_octave(curves) - tilt_db_per_octave(ref) < warm))
            print(f"tracks darker than {name} + 'warm' ({warm:+.2f} dB/oct): {darker} of {len(tracks)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
