"""The Debian music packages used to train and validate the audio encoder: fetching, listing, the
whole-track train/validation split, and decoded audio cached at the model rate.

Packages are fetched with ``apt-get download`` and unpacked with ``dpkg -x`` into a cache directory
(argument, else ``$SEMEQ_MUSIC_DIR``, else ``~/.cache/semeq/music``); nothing is committed. The split
is by *group*: a whole track for the music packages, a whole drum kit for hydrogen-drumkits (hits of
one kit share microphones and room), so no audio of a validation group is ever seen in training.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import zipfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from semeq_rt.bundle import sha256_file

#: package → what it holds. Versions are whatever apt offers; the .deb SHA-256 is recorded per run.
PACKAGES = {
    "nexuiz-music": "electronic game music (Ogg Vorbis inside music.pk3, a zip)",
    "hyperrogue-music": "orchestral / ambient game music (Ogg Vorbis)",
    "hydrogen-drumkits": "single drum hits of the Hydrogen drum machine's kits (FLAC/WAV)",
}
MUSIC_PACKAGES = ("nexuiz-music", "hyperrogue-music")
DRUM_PACKAGES = ("hydrogen-drumkits",)
#: The second validation set: music that no model and no tuning of the project has seen, chosen for
#: what breaks an adaptive EQ (docs/BENCHMARKS.md, "Adaptive safety"). Never used for training.
HELD_OUT_PACKAGES = {
    "asc-music": "band-limited MP3s at 22.05 kHz (Advanced Strategic Command's soundtrack)",
    "drascula-music": "44.1 kHz Vorbis, dark and thin recordings, some with no bass register (Drascula)",
    "singularity-music": "48 kHz Vorbis electronic music, sub-bass heavy or low-passed (Endgame: Singularity)",
}
AUDIO_SUFFIXES = (".ogg", ".flac", ".wav", ".mp3")
#: one group in VALIDATION_EVERY (by SHA-256 order within each package) is held out for validation.
VALIDATION_EVERY = 4
_DRUMKIT_ROOT = ("usr", "share", "hydrogen", "data", "drumkits")
#: package → the only sub-tree used (hyperrogue-music also ships short game sound effects, not music).
_SUBTREE = {"hyperrogue-music": "usr/share/hyperrogue/music/",
            "drascula-music": "usr/share/scummvm/drascula/audio/",  # the language folders link here
            "asc-music": "usr/share/games/asc/music/", "singularity-music": "usr/share/games/singularity/music/"}


def music_dir(path=None) -> Path:
    """The cache directory: ``path``, else ``$SEMEQ_MUSIC_DIR``, else ``~/.cache/semeq/music``."""
    return Path(path or os.environ.get("SEMEQ_MUSIC_DIR") or Path.home() / ".cache" / "semeq" / "music")



def _download_deb(package: str, deb_dir: Path) -> Path:
    deb_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(2):
        found = sorted(deb_dir.glob(f"{package}_*.deb"))
        if found:
            return found[-1]
        result = subprocess.run(["apt-get", "download", package], cwd=deb_dir, capture_output=True, text=True)
        if result.returncode != 0 and attempt == 0:
            # apt's package lists may be missing or stale on a fresh machine.
            subprocess.run(["apt-get", "update"], capture_output=True, check=False)
    raise RuntimeError(f"could not download {package} with apt-get: {result.stderr.strip()}")


def fetch(packages=tuple(PACKAGES), cache_dir=None, progress=print) -> dict:
    """Download and unpack ``packages`` (skipping those already unpacked); returns package → .deb SHA-256."""
    root = music_dir(cache_dir)
    hashes = {}
    for package in packages:
        target = root / "pkgs" / package
        marker = target / ".deb-sha256"
        if not marker.exists():
            progress(f"fetching {package} into {target}")
            deb = _download_deb(package, root / "debs")
            target.mkdir(parents=True, exist_ok=True)
            subprocess.run(["dpkg", "-x", str(deb), str(target)], check=True)
            for pk3 in target.rglob("*.pk3"):
                with zipfile.ZipFile(pk3) as archive:
                    members = [m for m in archive.namelist() if m.lower().endswith(AUDIO_SUFFIXES)]
                    archive.extractall(target / "pk3" / pk3.stem, members)
            marker.write_text(sha256_file(deb))
            deb.unlink()  # the unpacked tree is what is used; the hash is kept in the marker
        hashes[package] = marker.read_text().strip()
    return hashes


@dataclass(frozen=True)
class Track:
    path: Path      # the audio file
    package: str
    group: str      # unit of the split: the track itself, or the drum kit
    name: str       # path relative to the package's unpacked root

    @property
    def kind(self) -> str:
        return "drums" if self.package in DRUM_PACKAGES else "music"


def _group_of(package: str, rel: Path) -> str:
    parts = rel.parts
    if package in DRUM_PACKAGES and parts[: len(_DRUMKIT_ROOT)] == _DRUMKIT_ROOT:
        return f"{package}/kit/{parts[len(_DRUMKIT_ROOT)]}"
    return f"{package}/{rel.as_posix()}"


def list_tracks(packages=tuple(PACKAGES), cache_dir=None) -> list:
    """Every audio file of the unpacked ``packages``, sorted (call ``fetch`` first)."""
    root = music_dir(cache_dir)
    tracks = []
    for package in packages:
        base = root / "pkgs" / package
        if not (base / ".deb-sha256").exists():
            raise FileNotFoundError(f"{package} is not unpacked in {root}: run `python -m semeq_train.music fetch`")
        for path in sorted(base.rglob("*")):
            if path.suffix.lower() in AUDIO_SUFFIXES and path.is_file():
                rel = path.relative_to(base)
                if not rel.as_posix().startswith(_SUBTREE.get(package, "")):
                    continue
                tracks.append(Track(path, package, _group_of(package, rel), rel.as_posix()))
    return tracks


def validation_groups(tracks) -> set:
    """The held-out groups: within each package, every VALIDATION_EVERY-th group in SHA-256 order of
    its name. Deterministic, independent of the machine and of file order, balanced per package."""
    held_out = set()
    for package in sorted({t.package for t in tracks}):
        groups = sorted({t.group for t in tracks if t.package == package},
                        key=lambda g: hashlib.sha256(g.encode()).hexdigest())
        held_out.update(groups[VALIDATION_EVERY - 1 :: VALIDATION_EVERY] or groups[:1])
    return held_out


def split_tracks(tracks) -> tuple:
    """(train, validation) lists of whole tracks/kits; no group is in both."""
    held_out = validation_groups(tracks)
    return [t for t in tracks if t.group not in held_out], [t for t in tracks if t.group in held_out]


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling along axis 0 (exact rational ratio; unchanged when the rates are equal)."""
    from scipy.signal import resample_poly

    ratio = Fraction(int(rate_out), int(rate_in))
    if ratio == 1:
        return audio
    return resample_poly(audio, ratio.numerator, ratio.denominator, axis=0)


def load_mid(track: Track, sample_rate: int, cache_dir=None) -> np.ndarray:
    """The track as float32 mono (mid = mean of channels) at ``sample_rate``, cached as .npy."""
    import soundfile

    root = music_dir(cache_dir)
    cached = root / f"decoded-{int(sample_rate)}" / track.package / (track.name + ".npy")
    if cached.exists():
        return np.load(cached, mmap_mode="r")
    audio, rate = soundfile.read(str(track.path), dtype="float32", always_2d=True)
    mid = resample(audio.mean(axis=1), rate, sample_rate).astype(np.float32)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp.npy")
    np.save(tmp, mid)
    tmp.replace(cached)
    return mid


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m semeq_train.music", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["fetch", "list"], help="fetch: download and unpack; list: tracks and split")
    parser.add_argument("--dir", help="cache directory (default $SEMEQ_MUSIC_DIR or ~/.cache/semeq/music)")
    parser.add_argument("--held-out", action="store_true",
                        help="also the validation-only packages (HELD_OUT_PACKAGES), never used for training")
    args = parser.parse_args(argv)
    hashes = fetch(tuple(PACKAGES) + (tuple(HELD_OUT_PACKAGES) if args.held_out else ()), cache_dir=args.dir)
    if args.action == "fetch":
        for package, digest in hashes.items():
            print(f"{package}  sha256 {digest}")
        return 0
    tracks = list_tracks(tuple(hashes), cache_dir=args.dir)
    held_out = validation_groups(tracks)
    for t in tracks:
        print(f"{'val  ' if t.group in held_out else 'train'}  {t.package}  {t.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
