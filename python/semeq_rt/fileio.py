"""Audio files in and out: reading any format soundfile reads, writing that keeps the sample rate,
channel count and subtype, never overwriting a file unless asked, and ``process_file``.

Output is written to a temporary file beside the destination and moved into place at the end, so a
failed or interrupted run leaves no half-written file and the destination may even be the source.
"""
from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

import numpy as np

#: Subtypes that store floats: everything else (PCM, lossy codecs) is clipped to [-1, 1] on writing,
#: since libsndfile would otherwise wrap values beyond full scale around.
FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")
#: Linear PCM subtypes, shallowest first: a PCM source keeps its depth, or gets the next deeper one.
PCM_SUBTYPES = ("PCM_U8", "PCM_S8", "PCM_16", "PCM_24", "PCM_32")
#: Integer PCM subtypes whose samples the writer computes itself (bits, and the integer type libsndfile
#: takes them in): each float scaled by 2^(bits-1), rounded to the nearest integer and held within the
#: type's range. libsndfile's own conversion rounds down (an error of up to 1 LSB instead of 1/2) and
#: took 0.60 s where this takes 0.35 s for 5 minutes of 16-bit stereo (docs/decisions.md).
INTEGER_PCM = {"PCM_16": (16, np.int16), "PCM_24": (24, np.int32), "PCM_32": (32, np.int32)}
#: Text tags that soundfile reads and writes (those the format carries are copied to the output).
TAGS = ("title", "copyright", "software", "artist", "comment", "date", "album", "license", "tracknumber", "genre")


def _soundfile():
    import soundfile

    return soundfile


def check_output_path(dst, overwrite=False) -> Path:
    """The file to write for ``dst``: ``dst`` itself, or the file a symbolic link at ``dst`` points to
    (replacing it writes through the link). ``FileExistsError`` if it exists and ``overwrite`` is false;
    a clear error if it is a folder, not a regular file (a FIFO, a device), or in a folder that does
    not exist or cannot be written."""
    dst = Path(dst)
    if dst.is_dir():
        raise IsADirectoryError(f"{dst} is a directory; give an output file name")
    if dst.exists() and not overwrite:
        raise FileExistsError(f"{dst} already exists; not overwriting it (pass overwrite=True, "
                              f"or --overwrite / -y on the command line)")
    target = dst.resolve() if dst.is_symlink() else dst
    if target.exists() and not target.is_file():
        raise ValueError(f"{dst} is not a regular file; semeq writes only regular files")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot write {dst}: folder {target.parent} does not exist")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {dst}: no permission to create files in {target.parent}")
    return target


def check_input_path(src) -> Path:
    """``src`` as a Path, with a clear error if it is missing or a folder."""
    src = Path(src)
    if src.is_dir():
        raise IsADirectoryError(f"{src} is a directory; give an audio file")
    if not src.exists():
        raise FileNotFoundError(f"{src}: no such file")
    return src


def read_audio(path, max_frames=None):
    """(audio as float32 (channels, samples), sample_rate) of a file in any format soundfile reads."""
    sf = _soundfile()
    path = check_input_path(path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True,
                             frames=-1 if max_frames is None else int(max_frames))
    except sf.LibsndfileError as e:
        raise ValueError(f"cannot read {path} as audio: {e}") from None
    return np.ascontiguousarray(data.T), rate


def format_of(dst) -> str:
    """The soundfile format that ``dst``'s extension names, or ValueError listing the known ones."""
    ext = Path(dst).suffix.lstrip(".").upper()
    formats = _soundfile().available_formats()
    fmt = {"AIF": "AIFF", "OGA": "OGG"}.get(ext, ext)
    if fmt not in formats:
        known = ", ".join(sorted("." + f.lower() for f in formats))
        if not ext:
            raise ValueError(f"cannot write {dst}: give the output file an extension that names its format "
                             f"(known: {known})")
        raise ValueError(f"cannot write {dst}: unknown audio file extension .{ext.lower()}; known: {known}")
    return fmt


def output_format(dst, src_info, subtype=None):
    """(format, subtype) for ``dst``: the format its extension names (``format_of``), and ``subtype`` if
    given, else the closest to the source's that the format stores (``closest_subtype``)."""
    sf = _soundfile()
    fmt = format_of(dst)
    if subtype is not None:
        if not sf.check_format(fmt, subtype):
            raise ValueError(f"{fmt} files cannot store subtype {subtype!r}; accepted: "
                             f"{', '.join(sf.available_subtypes(fmt))}")
        return fmt, subtype
    return fmt, closest_subtype(fmt, src_info.format, src_info.subtype)


def closest_subtype(fmt, src_format, src_subtype) -> str:
    """The subtype of a ``fmt`` file closest to a ``src_format``/``src_subtype`` source: the same
    format keeps its subtype; floats stay floats; PCM keeps its depth, or gets the next deeper depth
    (else floats); a compressed source (MP3, Vorbis, ADPCM…) gets ``fmt``'s default subtype."""
    sf = _soundfile()
    available = sf.available_subtypes(fmt)
    if fmt == src_format and src_subtype in available:
        return src_subtype
    if src_subtype in FLOAT_SUBTYPES:
        candidates = (src_subtype, *FLOAT_SUBTYPES, "PCM_32", "PCM_24")
    elif src_subtype in PCM_SUBTYPES:
        deeper = PCM_SUBTYPES[PCM_SUBTYPES.index(src_subtype):]
        candidates = (src_subtype, *deeper, *FLOAT_SUBTYPES)
    else:
        candidates = ()
    return next((c for c in candidates if c in available), sf.default_subtype(fmt))


class ProgressBar:
    """A progress bar over frames (or another ``unit``): tqdm when installed, else a line on stderr every 10 %."""

    def __init__(self, total, desc, enabled, unit="frame"):
        self.total, self.desc, self.enabled = max(int(total), 1), desc, enabled
        self.done, self.next_report, self.bar, self.status = 0, 0.1, None, ""
        if enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, desc=desc, unit=unit, unit_scale=unit == "frame", file=sys.stderr)
            except ImportError:
                pass

    def to(self, done, total):
        """Progress as (done, total), for callers that count in their own units."""
        if self.total != total:
            self.total = max(int(total), 1)
            if self.bar is not None:
                self.bar.total = self.total
        self.update(done - self.done)

    def update(self, frames):
        self.done += frames
        if self.bar is not None:
            self.bar.update(frames)
        elif self.enabled and self.done / self.total >= self.next_report:
            status = f" ({self.status})" if self.status else ""
            print(f"{self.desc}: {100 * self.done // self.total}%{status}", file=sys.stderr, flush=True)
            while self.next_report <= self.done / self.total:
                self.next_report += 0.1

    def note(self, text: str):
        """A short status beside the count (tqdm's postfix; the fallback's lines carry it)."""
        self.status = text
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _umask() -> int:
    """The process's umask (read without changing it where Linux tells it)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Frames per call to libsndfile when a file is written.
WRITE_BLOCK = 65536


class _AtomicWriter:
    """A soundfile writer into a temporary file that replaces ``dst`` on ``commit()``, with the mode a
    replaced file had (a new file: 0666 less the umask, as any program's output) and ``tags``."""

    def __init__(self, dst, sample_rate, channels, fmt, subtype, tags=None):
        sf = _soundfile()
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".semeq-tmp", dir=dst.parent or ".")
        except OSError as e:
            raise type(e)(e.errno, f"cannot write {dst}: {e.strerror} (in {dst.parent})") from None
        os.close(fd)
        self.tmp, self.dst = Path(tmp), dst
        self.clip = subtype not in FLOAT_SUBTYPES
        self.clipped = 0
        self.integer = INTEGER_PCM.get(subtype)
        try:
            self.file = sf.SoundFile(str(self.tmp), "w", samplerate=sample_rate, channels=channels,
                                     subtype=subtype, format=fmt)
            for key, value in (tags or {}).items():
                try:
                    setattr(self.file, key, value)
                except (RuntimeError, sf.LibsndfileError):
                    pass  # the format has no such tag
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
        try:
            # in blocks: libsndfile's Vorbis encoder crashes (segfault) on a minute of audio in one call
            for start in range(0, audio.shape[-1], WRITE_BLOCK):
                self.file.write(self._frames(audio[:, start:start + WRITE_BLOCK]))
        except _soundfile().LibsndfileError as e:
            raise OSError(f"cannot write {self.dst}: {e} (is the disk full?)") from None

    def _frames(self, block):
        """(frames, channels) data for soundfile: the block itself, or its integer samples (INTEGER_PCM;
        libsndfile takes 24-bit samples in the top bits of 32-bit integers)."""
        if self.integer is None:
            return block.T
        bits, kind = self.integer
        top = 2.0 ** (bits - 1)
        # float32 holds every 16- and 24-bit step exactly (a power-of-two scale); 32 bits need float64
        scaled = np.rint(block.T.astype(np.float64 if bits > 24 else np.float32) * top)
        samples = np.clip(scaled, -top, top - 1).astype(kind)
        return samples << (32 - bits) if bits == 24 else samples

    def commit(self):
        self.file.close()
        mode = stat.S_IMODE(self.dst.stat().st_mode) if self.dst.exists() else 0o666 & ~_umask()
        os.chmod(self.tmp, mode)
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
    fmt = format_of(dst)
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
    Integer and lossy subtypes are clipped to full scale (the count is returned). ``dst`` is never
    replaced unless ``overwrite``; it is written atomically.
    ``processor_options`` go to ``Processor`` (``loudness_compensation``, ``analysis``, ``bundle``…).
    Returns a summary dict: frames, sample_rate, channels, format, subtype, clipped_samples, and what
    was done: largest_boost_db and largest_cut_db (the EQ's, output gain included), loudness_in_lufs
    and loudness_out_lufs (integrated, BS.1770), output_peak_dbfs (before any clipping), eq_bands (the
    EQ in force at the end) and eq_response_db (its dB response with the output gain on eqdef.FREQ_GRID;
    NaN at points at or above Nyquist).
    """
    from .measures import LoudnessMeter
    from .processor import Processor

    sf = _soundfile()
    src = check_input_path(src)
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
        tags = {key: getattr(source, key) for key in TAGS if getattr(source, key, "")}
        writer = _AtomicWriter(dst, source.samplerate, source.channels, fmt, subtype, tags)
        bar = ProgressBar(source.frames, f"semeq {src.name}", progress)
        loudness_in, loudness_out = (LoudnessMeter(source.samplerate, source.channels) for _ in range(2))
        peak = 0.0
        try:
            for block in source.blocks(blocksize=blocksize, dtype="float32", always_2d=True):
                block = np.ascontiguousarray(block.T)  # (channels, frames), copied once for both
                out = processor.process(block)
                loudness_in.push(block)
                loudness_out.push(out)
                peak = max(peak, float(np.max(np.abs(out), initial=0.0)))
                writer.write(out)
                bar.update(block.shape[1])
        except BaseException:
            writer.discard()
            raise
        finally:
            bar.close()
            processor.close()
        writer.commit()
    return {"frames": source.frames, "sample_rate": source.samplerate, "channels": source.channels,
            "format": fmt, "subtype": subtype, "source_subtype": source.subtype, "clipped_samples": writer.clipped,
            "largest_boost_db": processor.largest_boost_db, "largest_cut_db": processor.largest_cut_db,
            "loudness_in_lufs": loudness_in.integrated(), "loudness_out_lufs": loudness_out.integrated(),
            "output_peak_dbfs": 20.0 * np.log10(peak) if peak > 0 else float("-inf"),
            "eq_bands": processor.eq_bands, "eq_response_db": _response_on_grid(processor)}


def _response_on_grid(processor) -> list:
    """The applied EQ's dB response on eqdef.FREQ_GRID (points at or above Nyquist: NaN)."""
    from . import eqdef

    grid = eqdef.FREQ_GRID
    inside = grid < processor.sample_rate / 2
    response = np.full(len(grid), np.nan)
    response[inside] = processor.applied_response(grid[inside])
    return response.tolist()
