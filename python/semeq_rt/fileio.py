"""Audio files in and out: reading any format soundfile reads, writing that keeps the sample rate,
channel count and subtype, never overwriting a file unless asked, and ``process_file``.

Output is written to a temporary file beside the destination and moved into place at the end, so a
failed or interrupted run leaves no half-written file and the destination may even be the source.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

#: Subtypes that store floats: everything else (PCM, lossy codecs) is clipped to [-1, 1] on writing,
#: since libsndfile would otherwise wrap values beyond full scale around.
FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")


def _soundfile():
    import soundfile

    return soundfile


def check_output_path(dst, overwrite=False) -> Path:
    """``dst`` as a Path; ``FileExistsError`` if it exists and ``overwrite`` is false."""
    dst = Path(dst)
    if dst.exists() and not overwrite:
        raise FileExistsError(f"{dst} already exists; not overwriting it (pass overwrite=True, "
                              f"or --overwrite / -y on the command line)")
    if dst.is_dir():
        raise IsADirectoryError(f"{dst} is a directory; give an output file name")
    if not dst.parent.is_dir():
        raise FileNotFoundError(f"cannot write {dst}: folder {dst.parent} does not exist")
    return dst


def read_audio(path, max_frames=None):
    """(audio as float32 (channels, samples), sample_rate) of a file in any format soundfile reads."""
    sf = _soundfile()
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True,
                             frames=-1 if max_frames is None else int(max_frames))
    except sf.LibsndfileError as e:
        raise ValueError(f"cannot read {path} as audio: {e}") from None
    return np.ascontiguousarray(data.T), rate


def output_format(dst, src_info, subtype=None):
    """(format, subtype) for ``dst``: the format its extension names (else the source's), and
    ``subtype`` if given, else the source's subtype when that format can store it, else the format's
    default subtype."""
    sf = _soundfile()
    ext = Path(dst).suffix.lstrip(".").upper()
    formats = sf.available_formats()
    fmt = {"AIF": "AIFF", "OGA": "OGG"}.get(ext, ext)
    if fmt not in formats:
        if ext:
            raise ValueError(f"cannot write {dst}: unknown audio file extension .{ext.lower()}; "
                             f"known: {', '.join(sorted(f.lower() for f in formats))}")
        fmt = src_info.format
    if subtype is not None:
        if not sf.check_format(fmt, subtype):
            raise ValueError(f"{fmt} files cannot store subtype {subtype!r}; accepted: "
                             f"{', '.join(sf.available_subtypes(fmt))}")
        return fmt, subtype
    subtype = src_info.subtype if sf.check_format(fmt, src_info.subtype) else sf.default_subtype(fmt)
    return fmt, subtype


class _Progress:
    """A progress bar over frames: tqdm when installed, else a line on stderr every 10 %."""

    def __init__(self, total, desc, enabled):
        self.total, self.desc, self.enabled = max(int(total), 1), desc, enabled
        self.done, self.next_report, self.bar = 0, 0.1, None
        if enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, desc=desc, unit="frame", unit_scale=True, file=sys.stderr)
            except ImportError:
                pass

    def update(self, frames):
        self.done += frames
        if self.bar is not None:
            self.bar.update(frames)
        elif self.enabled and self.done / self.total >= self.next_report:
            print(f"{self.desc}: {100 * self.done // self.total}%", file=sys.stderr, flush=True)
            while self.next_report <= self.done / self.total:
                self.next_report += 0.1

    def close(self):
        if self.bar is not None:
            self.bar.close()


class _AtomicWriter:
    """A soundfile writer into a temporary file that replaces ``dst`` on ``commit()``."""

    def __init__(self, dst, sample_rate, channels, fmt, subtype):
        sf = _soundfile()
        fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".semeq-tmp", dir=dst.parent or ".")
        os.close(fd)
        self.tmp, self.dst = Path(tmp), dst
        self.clip = subtype not in FLOAT_SUBTYPES
        self.clipped = 0
        try:
            self.file = sf.SoundFile(str(self.tmp), "w", samplerate=sample_rate, channels=channels,
                                     subtype=subtype, format=fmt)
        except Exception:
            self.tmp.unlink(missing_ok=True)
            raise

    def write(self, audio):
        """Write (channels, samples) float32 audio."""
        if self.clip:
            over = np.abs(audio) > 1.0
            n_over = int(np.count_nonzero(over))
            if n_over:
                self.clipped += n_over
                audio = np.clip(audio, -1.0, 1.0)
        self.file.write(audio.T)

    def commit(self):
        self.file.close()
        os.replace(self.tmp, self.dst)

    def discard(self):
        self.file.close()
        self.tmp.unlink(missing_ok=True)


def write_audio(dst, audio, sample_rate, subtype="PCM_16", overwrite=False) -> Path:
    """Write (channels, samples) float audio to ``dst`` (format from its extension); refuses to replace
    an existing file unless ``overwrite``. Returns the path."""
    dst = check_output_path(dst, overwrite)
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    sf = _soundfile()
    fmt = Path(dst).suffix.lstrip(".").upper()
    if fmt not in sf.available_formats():
        raise ValueError(f"cannot write {dst}: unknown audio file extension")
    writer = _AtomicWriter(dst, int(sample_rate), audio.shape[0], fmt,
                           subtype if sf.check_format(fmt, subtype) else sf.default_subtype(fmt))
    try:
        writer.write(audio)
    except BaseException:
        writer.discard()
        raise
    writer.commit()
    return dst


#: Seconds of the file's start that ``process_file`` analyses before processing, so that an adaptive
#: run starts with the EQ that the file's start calls for instead of adapting during the first seconds.
PRIME_SECONDS = 8.0


def process_file(src, dst, term="warm", intensity=1.0, *, mode="adaptive", overwrite=False,
                 blocksize=65536, progress=False, subtype=None, **processor_options) -> dict:
    """Process an audio file with a ``Processor`` and write the result to ``dst``.

    The output keeps the source's sample rate and channel count, and its subtype where the output
    format (from ``dst``'s extension) can store it, unless ``subtype`` (e.g. ``"FLOAT"``) is given.
    Integer and lossy subtypes are clipped to full scale (the count is returned). ``dst`` is never replaced unless ``overwrite``; it is written atomically.
    ``processor_options`` go to ``Processor`` (``loudness_compensation``, ``analysis``, ``bundle``…).
    Returns a summary dict: frames, sample_rate, channels, format, subtype, clipped_samples, and what
    was done: largest_boost_db and largest_cut_db (the EQ's, output gain included), loudness_in_lufs
    and loudness_out_lufs (integrated, BS.1770), output_peak_dbfs (before any clipping).
    """
    from .measures import LoudnessMeter
    from .processor import Processor

    sf = _soundfile()
    src = Path(src)
    if not src.is_file():
        raise FileNotFoundError(f"{src}: no such file")
    dst = check_output_path(dst, overwrite)
    if not isinstance(blocksize, int) or blocksize < 1:
        raise ValueError(f"blocksize must be a positive integer, got {blocksize!r}")
    try:
        source = sf.SoundFile(str(src))
    except sf.LibsndfileError as e:
        raise ValueError(f"cannot read {src} as audio: {e}") from None
    with source:
        fmt, subtype = output_format(dst, source, subtype)
        processor = Processor(term, intensity=intensity, sample_rate=source.samplerate,
                              channels=source.channels, mode=mode, **processor_options)
        if mode == "adaptive":
            start = source.read(int(PRIME_SECONDS * source.samplerate), dtype="float32", always_2d=True)
            processor.prime(start.T)
            source.seek(0)
        writer = _AtomicWriter(dst, source.samplerate, source.channels, fmt, subtype)
        bar = _Progress(source.frames, f"semeq {src.name}", progress)
        loudness_in, loudness_out = (LoudnessMeter(source.samplerate, source.channels) for _ in range(2))
        peak = 0.0
        try:
            for block in source.blocks(blocksize=blocksize, dtype="float32", always_2d=True):
                out = processor.process(block.T)
                loudness_in.push(block.T)
                loudness_out.push(out)
                peak = max(peak, float(np.max(np.abs(out), initial=0.0)))
                writer.write(out)
                bar.update(len(block))
        except BaseException:
            writer.discard()
            raise
        finally:
            bar.close()
            processor.close()
        writer.commit()
    return {"frames": source.frames, "sample_rate": source.samplerate, "channels": source.channels,
            "format": fmt, "subtype": subtype, "clipped_samples": writer.clipped,
            "largest_boost_db": processor.largest_boost_db, "largest_cut_db": processor.largest_cut_db,
            "loudness_in_lufs": loudness_in.integrated(), "loudness_out_lufs": loudness_out.integrated(),
            "output_peak_dbfs": 20.0 * np.log10(peak) if peak > 0 else float("-inf")}
