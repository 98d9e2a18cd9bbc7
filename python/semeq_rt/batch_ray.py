"""``semeq batch --ray``: the batch's per-file work (``batch.process_one``) as a Ray Data pipeline, on a
local Ray instance or a cluster (``pip install "semeq[ray]"``; Ray is never a runtime dependency).

The file list is handed to Ray Data as items (``from_items``), so the pipeline has no read task: every
CPU of the cluster can hold a worker actor (one CPU each, one bundle each, its ONNX Runtime sessions on
one thread, on CUDA where the cluster has GPUs: ``actor_shape``) and the pipeline cannot starve
itself, which a read task needing a CPU next to actors that take them all does on a small machine. A
file's faults are rows, as in the local pool; an actor that dies is restarted and its file retried by
Ray. Outputs are written by the actors straight into OUTPUT_DIR, so on a cluster of several machines
it must be a folder they all see (a shared file system).
"""
from __future__ import annotations

import json
import logging
import os


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise ImportError('semeq batch --ray needs Ray Data: pip install "semeq[ray]"') from None
    return ray


def _worker_class(input_dir, output_dir, options):
    """A Ray Data actor class with the batch's options inside it (pickled with the class, so the actors
    need no constructor arguments in the object store): ``batch.process_one`` on each file of its batches,
    rows as JSON."""

    class FileWorker:
        def __init__(self):
            from .semantics import get_bundle, resolve_blend

            resolve_blend(options["term"], get_bundle())  # the bundle (and a placed term) once per actor

        def __call__(self, batch):
            from .batch import process_one

            return {"row": [json.dumps(process_one(input_dir, output_dir, path, options)) for path in batch["path"]]}

    return FileWorker


def actor_shape(resources: dict) -> tuple:
    """(actors, GPUs per actor) for a cluster's ``resources`` (``ray.cluster_resources()``): one actor per
    CPU, and where the cluster has GPUs, each actor an equal share of them, so that Ray makes a GPU
    visible to every actor and its ONNX Runtime sessions run on CUDA (``bundle.select_providers`` picks
    CUDA where it runs; an actor without a GPU share sees none)."""
    actors = max(1, int(resources.get("CPU", 1)))
    gpus = float(resources.get("GPU", 0.0))
    return actors, (gpus / actors if gpus > 0 else 0.0)


def run_on_ray(files, input_dir, output_dir, options, address, on_row) -> None:
    """Process ``files`` (relative paths) with Ray: a new local instance when ``address`` is "local",
    else ``ray.init(address)`` ("auto", "ray://host:10001", "host:6379"); ``on_row(row)`` for each file
    as it completes."""
    ray = _ray()
    owned = not ray.is_initialized()
    if owned:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(address=None if address == "local" else address, include_dashboard=False,
                 log_to_driver=False, logging_level=logging.WARNING, configure_logging=False)
    try:
        logging.getLogger("ray.data").setLevel(logging.ERROR)  # its plan and timing lines: not for users
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the batch's own bar counts files and hours
        context.verbose_progress = False
        actors, gpu_share = actor_shape(ray.cluster_resources())
        items = ray.data.from_items([{"path": f} for f in files], override_num_blocks=max(1, len(files)))
        # one file in flight per actor: a file waits for the next free actor, not in one actor's queue
        pool = ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1)
        worker = _worker_class(str(input_dir), str(output_dir), options)
        gpus = {"num_gpus": gpu_share} if gpu_share else {}
        rows = items.map_batches(worker, batch_size=1, compute=pool, num_cpus=1, **gpus)
        for item in rows.iter_rows():
            on_row(json.loads(item["row"]))
    except ray.exceptions.RayError as error:  # the pipeline's own failure (a file's is a row): one line
        detail = [line.strip() for line in str(error).splitlines() if line.strip()][-1]
        raise RuntimeError(f"the batch failed on Ray ({type(error).__name__}): {detail} (each node needs semeq "
                           "installed, and OUTPUT_DIR on a file system every node sees)") from None
    finally:
        if owned:
            ray.shutdown()
