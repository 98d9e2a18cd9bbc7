"""Output of two versions of semeq_rt on the same real music: `semeq process`'s file path (adaptive
"warm" and "bright", static "warm") and a 512-sample stream without prime, per clip the largest
|difference| of the samples and of the measured latent. For changes that must not change the sound
(the engine's port to C++ was checked this way against the Python engine it replaced).

Run: ``python3 bench/compare_versions.py --old OLD_PYTHON_DIR [--new NEW_PYTHON_DIR]``, each a folder
that holds a ``semeq_rt`` package with its built ``_core`` (e.g. ``git worktree add /tmp/old e1a4fcd``,
build it, and pass ``/tmp/old/python``); the new one defaults to this checkout's ``python/``. Clips: 40 s
from the start of one track of each validation and held-out music package (a 22.05 kHz MP3, 44.1 and
48 kHz Vorbis); needs ``python -m semeq_train.music fetch --held-out``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SECONDS = 40.0
PACKAGES = ("nexuiz-music", "asc-music", "drascula-music", "singularity-music")
RENDERS = (("warm", "adaptive"), ("bright", "adaptive"), ("warm", "static"))

#: Run in the interpreter of one version: renders every clip in `folder` and saves the results there.
RENDER = """
import json, sys
import numpy as np, soundfile as sf
import semeq_rt
from semeq_rt.fileio import process_file
folder, tag = sys.argv[1], sys.argv[2]
for clip in json.load(open(f"{folder}/clips.json")):
    for term, mode in json.load(open(f"{folder}/renders.json")):
        process_file(f"{folder}/{clip}.wav", f"{folder}/{tag}-{clip}-{term}-{mode}.wav", term=term, mode=mode,
                     subtype="FLOAT", overwrite=True)
    audio, rate = sf.read(f"{folder}/{clip}.wav", dtype="float32", always_2d=True)
    x = np.ascontiguousarray(audio.T)
    p = semeq_rt.Processor("warm", sample_rate=rate, channels=x.shape[0])
    y = np.concatenate([p.process(x[:, i:i + 512]) for i in range(0, x.shape[1], 512)], axis=1)
    np.save(f"{folder}/{tag}-{clip}-stream.npy", y)
    np.save(f"{folder}/{tag}-{clip}-latent.npy", p.audio_latent)
"""


def clips(folder):
    """The first SECONDS of the first track of each package, as float WAVs in ``folder``."""
    import soundfile

    from semeq_train import music

    names = []
    for package in PACKAGES:
        track = music.list_tracks((package,))[0]
        audio, rate = soundfile.read(str(track.path), frames=int(SECONDS * soundfile.info(str(track.path)).samplerate),
                                     dtype="float32", always_2d=True)
        name = f"{package}-{Path(track.name).stem}".replace(" ", "_")
        soundfile.write(f"{folder}/{name}.wav", audio, rate, subtype="FLOAT")
        names.append(name)
    return names


def render(python_dir, folder, tag):
    env = dict(os.environ, PYTHONPATH=str(python_dir))
    subprocess.run([sys.executable, "-c", RENDER, folder, tag], env=env, check=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="folder holding the old semeq_rt package")
    parser.add_argument("--new", default=str(Path(__file__).resolve().parents[1] / "python"),
                        help="folder holding the new semeq_rt package (default: this checkout's python/)")
    args = parser.parse_args(argv)
    import soundfile

    with tempfile.TemporaryDirectory() as folder:
        names = clips(folder)
        json.dump(names, open(f"{folder}/clips.json", "w"))
        json.dump(RENDERS, open(f"{folder}/renders.json", "w"))
        render(args.old, folder, "old")
        render(args.new, folder, "new")
        worst = 0.0
        for name in names:
            for term, mode in RENDERS:
                old, _ = soundfile.read(f"{folder}/old-{name}-{term}-{mode}.wav", dtype="float32")
                new, _ = soundfile.read(f"{folder}/new-{name}-{term}-{mode}.wav", dtype="float32")
                difference = float(np.max(np.abs(old - new)))
                worst = max(worst, difference)
                print(f"{name:<40} semeq process {term:<6} {mode:<8} max |new - old| {difference:.3g}")
            stream = float(np.max(np.abs(np.load(f"{folder}/old-{name}-stream.npy")
                                         - np.load(f"{folder}/new-{name}-stream.npy"))))
            latent = float(np.max(np.abs(np.load(f"{folder}/old-{name}-latent.npy")
                                         - np.load(f"{folder}/new-{name}-latent.npy"))))
            worst = max(worst, stream)
            print(f"{name:<40} stream of 512   warm adaptive max |new - old| {stream:.3g}; latent {latent:.3g}")
        print(f"largest difference: {worst:.3g}")


if __name__ == "__main__":
    main()
