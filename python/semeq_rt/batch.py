"""``semeq batch``: every audio file under a folder processed as ``semeq process`` does, by a pool of
worker processes, with a manifest (``manifest.parquet``) of what happened to each file.

Each output goes to the output folder under the input's relative path (same format and subtype unless
``fmt``), written atomically by ``fileio.process_file``, so it is bit-identical to ``semeq process`` of that
file. A file that cannot be read or processed is a ``failed`` row with its error, never the end of the
batch; a worker that dies (killed, out of memory) loses only its file, which is retried once in a new
pool. A rerun skips the files whose output exists and whose manifest row says ``ok`` (``skipped``), so an
interrupted batch finishes where it stopped. The manifest needs pyarrow (``pip install "semeq[batch]"``).
The same work runs on Ray instead of the local pool with ``ray=`` (``batch_ray``).
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

MANIFEST = "manifest.parquet"
STATUSES = ("ok", "failed", "skipped")


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise ImportError('semeq batch writes its manifest with pyarrow: pip install "semeq[batch]"') from None
    return pyarrow


def audio_suffixes() -> set:
    """File name endings of the formats soundfile reads (lower case, with the dot)."""
    import soundfile

    return {f".{name.lower()}" for name in soundfile.available_formats()} | {".aif", ".oga", ".opus"}


def discover(input_dir) -> list:
    """Relative paths (POSIX, sorted) of the audio files under ``input_dir``, recursively."""
    root = Path(input_dir)
    suffixes = audio_suffixes()
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and p.suffix.lower() in suffixes)


def output_path(output_dir, relative, fmt=None) -> Path:
    path = Path(output_dir) / relative
    return path.with_suffix(f".{fmt.lstrip('.')}") if fmt else path


def _scores(path, bundle=None) -> dict:
    from .analysis import analyze
    from .fileio import read_audio

    audio, rate = read_audio(path)
    return analyze(audio, rate, bundle=bundle).scores


def process_one(input_dir, output_dir, relative, options) -> dict:
    """One file, as a manifest row (never raises for the file's own faults)."""
    from .fileio import process_file

    started = time.perf_counter()
    src = Path(input_dir) / relative
    row = {"path": relative, "status": "ok", "error": "", "worker": os.getpid()}
    try:
        import soundfile

        info = soundfile.info(str(src))
        row.update(seconds=info.frames / info.samplerate, sample_rate=float(info.samplerate),
                   channels=int(info.channels))
        row["scores_in"] = _scores(src)
        if not options.get("analyze_only"):
            dst = output_path(output_dir, relative, options.get("fmt"))
            dst.parent.mkdir(parents=True, exist_ok=True)
            summary = process_file(src, dst, term=options["term"], intensity=options["intensity"],
                                   mode=options["mode"], overwrite=True)
            row.update(scores_out=_scores(dst), loudness_in_lufs=summary["loudness_in_lufs"],
                       loudness_out_lufs=summary["loudness_out_lufs"], eq_bands=summary["eq_bands"],
                       eq_response_db=summary["eq_response_db"], output=str(dst.relative_to(output_dir)))
    except Exception as error:  # the file's fault: a row, not the end of the batch
        row.update(status="failed", error=f"{type(error).__name__}: {error}")
    row["wall_s"] = time.perf_counter() - started
    return row


def _schema(pa):
    scores = pa.map_(pa.string(), pa.float64())
    band = pa.struct([("type", pa.string()), ("freq_hz", pa.float64()), ("gain_db", pa.float64()),
                      ("q", pa.float64())])
    return pa.schema([("path", pa.string()), ("status", pa.string()), ("error", pa.string()),
                      ("seconds", pa.float64()), ("sample_rate", pa.float64()), ("channels", pa.int32()),
                      ("scores_in", scores), ("scores_out", scores), ("eq_bands", pa.list_(band)),
                      ("eq_response_db", pa.list_(pa.float64())), ("loudness_in_lufs", pa.float64()),
                      ("loudness_out_lufs", pa.float64()), ("output", pa.string()), ("worker", pa.int64()),
                      ("wall_s", pa.float64())])


def _table_rows(row) -> dict:
    """A row in the manifest's types (maps as key/value pairs, bands as structs)."""
    out = dict(row)
    for key in ("scores_in", "scores_out"):
        if isinstance(out.get(key), dict):
            out[key] = list(out[key].items())
    if out.get("eq_bands") is not None:
        out["eq_bands"] = [{"type": t, "freq_hz": f, "gain_db": g, "q": q} for t, f, g, q in out["eq_bands"]]
    return out


def write_manifest(output_dir, rows):
    """``output_dir/manifest.parquet``, replaced atomically."""
    pa = _pyarrow()
    schema = _schema(pa)
    table = pa.Table.from_pylist([_table_rows(r) for r in rows], schema=schema)
    path = Path(output_dir) / MANIFEST
    tmp = path.with_name(f".{MANIFEST}.tmp")
    pa.parquet.write_table(table, tmp)
    os.replace(tmp, path)


def read_manifest(output_dir) -> dict:
    """path → row of an earlier run's manifest ({} if there is none)."""
    path = Path(output_dir) / MANIFEST
    if not path.exists():
        return {}
    pa = _pyarrow()
    rows = pa.parquet.read_table(path).to_pylist()
    for row in rows:  # maps come back as lists of pairs
        for key in ("scores_in", "scores_out"):
            if row.get(key) is not None:
                row[key] = dict(row[key])
        if row.get("eq_bands") is not None:
            row["eq_bands"] = [(b["type"], b["freq_hz"], b["gain_db"], b["q"]) for b in row["eq_bands"]]
    return {row["path"]: row for row in rows}


def run_batch(input_dir, output_dir, term="warm", intensity=1.0, *, mode="adaptive", workers=None,
              analyze_only=False, fmt=None, progress=False, ray=None) -> list:
    """Process (or with ``analyze_only``, only analyse) every audio file under ``input_dir`` into
    ``output_dir`` with a local pool of ``workers`` processes (default: the machine's cores), or with
    ``ray`` ("local" or a cluster address: ``batch_ray``) on Ray; returns the manifest's rows, which
    ``output_dir/manifest.parquet`` also holds."""
    from .fileio import ProgressBar
    from .semantics import resolve_blend

    _pyarrow()
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    if not input_dir.is_dir():
        raise ValueError(f"{input_dir} is not a folder")
    if output_dir.resolve() == input_dir.resolve() or input_dir.resolve() in output_dir.resolve().parents:
        raise ValueError(f"the output folder {output_dir} must lie outside the input folder {input_dir}")
    resolve_blend(term)  # an unknown word fails here, not in every worker
    workers = workers or os.cpu_count() or 1
    output_dir.mkdir(parents=True, exist_ok=True)
    files = discover(input_dir)
    earlier = read_manifest(output_dir)
    options = {"term": term, "intensity": float(intensity), "mode": mode, "analyze_only": analyze_only,
               "fmt": fmt}
    rows, todo = {}, []
    for relative in files:
        old = earlier.get(relative)
        done = old is not None and old["status"] in ("ok", "skipped") and \
            (analyze_only or (old.get("output") and (output_dir / old["output"]).exists()))
        if done:
            rows[relative] = dict(old, status="skipped")
        else:
            todo.append(relative)
    bar = ProgressBar(len(files), "semeq batch", progress, unit="file")
    audio_hours = [0.0]

    def count(new_rows):
        """The bar's files and hours of audio done."""
        audio_hours[0] += sum(r.get("seconds") or 0.0 for r in new_rows) / 3600.0
        bar.note(f"{audio_hours[0]:.2f} h of audio")
        bar.update(len(new_rows))

    count(list(rows.values()))
    retried = set()
    try:
        if ray is not None and todo:
            from .batch_ray import run_on_ray

            def done(row):
                rows[row["path"]] = row
                count([row])

            run_on_ray(todo, input_dir, output_dir, options, ray, done)
            todo = []
        while todo:
            lost = []
            # forked workers share the parent's loaded bundle (resolve_blend above): its ONNX Runtime sessions
            # have one intra- and one inter-op thread, so there is no thread for a fork to lose
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(process_one, input_dir, output_dir, r, options): r for r in todo}
                try:
                    for future in as_completed(futures):
                        rows[futures[future]] = future.result()
                        count([rows[futures[future]]])
                except BrokenProcessPool:  # a worker died: its file (and the unfinished ones) again
                    lost = [r for r in todo if r not in rows]
            todo = []
            for relative in lost:
                if relative in retried:
                    rows[relative] = {"path": relative, "status": "failed", "worker": -1, "wall_s": 0.0,
                                      "error": "the worker processing this file died twice"}
                    count([rows[relative]])
                else:
                    retried.add(relative)
                    todo.append(relative)
    finally:
        bar.close()
        for partial in output_dir.rglob("*.semeq-tmp"):  # what a killed worker was writing
            partial.unlink(missing_ok=True)
        write_manifest(output_dir, [rows[r] for r in files if r in rows])
    return [rows[r] for r in files]
