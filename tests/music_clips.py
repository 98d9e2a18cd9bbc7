"""Clips of real music from the Debian packages the tests fetch (semeq_train.music)."""
import numpy as np
import soundfile

from semeq_train import music


def read_clips(specs, seconds):
    """(audio (channels, samples) float32, rate) of each (package, file name, start s) in ``specs``, ``seconds``
    long; the packages are fetched once per machine (apt-get download + dpkg -x into the cache)."""
    packages = tuple(sorted({package for package, _, _ in specs}))
    music.fetch(packages)
    tracks = {t.name.rsplit("/", 1)[-1]: t for t in music.list_tracks(packages)}
    out = []
    for _, name, start in specs:
        rate = soundfile.info(str(tracks[name].path)).samplerate
        audio, _ = soundfile.read(str(tracks[name].path), start=int(start * rate), frames=int(seconds * rate),
                                  dtype="float32", always_2d=True)
        out.append((np.ascontiguousarray(audio.T), rate))
    return out
