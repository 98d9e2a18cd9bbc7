"""PNG plots for the CLI: EQ curves of terms, and an analysis (term scores over time, balance curve).

matplotlib is optional: it is imported only here, when a plot is asked for.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .fileio import check_output_path


def require_matplotlib():
    """Raise a clear RuntimeError when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError("plots need matplotlib, which is not installed: pip install matplotlib") from None
    return matplotlib


def _pyplot():
    require_matplotlib().use("Agg")  # files only; never a window
    import matplotlib.pyplot as plt

    return plt


def _frequency_axis(ax):
    ax.set_xscale("log")
    ax.set_xlim(20, 20000)
    ax.set_xlabel("frequency (Hz)")
    ax.grid(True, which="both", alpha=0.3)


def image_path(path):
    """The file a plot is written to: ``path``, with ".png" added when it has no extension (matplotlib
    picks the format from the extension)."""
    path = Path(path)
    return path if path.suffix else path.with_name(path.name + ".png")


#: The dB range a curve plot shows at least, so that a small EQ looks small.
CURVE_RANGE_DB = 12.0


def plot_curves(path, freqs_hz, curves: dict, title, overwrite=False):
    """Plot dB curves {label: values at freqs_hz} to an image file (PNG unless ``path`` names another
    format) on a fixed ±CURVE_RANGE_DB axis (wider if a curve needs it), the curves' extent in the
    legend. Returns the path written."""
    path = check_output_path(image_path(path), overwrite)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    extent = CURVE_RANGE_DB
    for label, values in curves.items():
        values = np.asarray(values)
        ax.plot(freqs_hz, values, label=f"{label} ({values.min():+.1f} to {values.max():+.1f} dB)")
        extent = max(extent, float(np.ceil(np.max(np.abs(values)))))
    _frequency_axis(ax)
    ax.set_ylim(-extent, extent)
    ax.set_ylabel("gain (dB)")
    ax.axhline(0.0, color="k", linewidth=0.8)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_analysis(path, analysis, title, n_terms=5, overwrite=False):
    """Two panels: the top terms' scores over time, and the clip's tonal balance curve. Returns the
    path written (``image_path``)."""
    path = check_output_path(image_path(path), overwrite)
    plt = _pyplot()
    window_scores = analysis.window_scores()
    top = list(analysis.scores)[:n_terms]
    fig, (ax_time, ax_curve) = plt.subplots(2, 1, figsize=(9.5, 7))
    for name in top:
        ax_time.plot(analysis.times, [s[name] for s in window_scores], label=name)
    ax_time.set_xlabel("time (s), at the middle of each analysis window")
    ax_time.set_ylabel("term score (probability the word fits)")
    ax_time.set_ylim(0.0, 1.0)
    ax_time.set_title(title)
    ax_time.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)  # beside the data
    ax_time.grid(True, alpha=0.3)
    freqs = np.geomspace(20.0, 20000.0, 241)
    ax_curve.plot(freqs, analysis.curve(freqs))
    _frequency_axis(ax_curve)
    ax_curve.axhline(0.0, color="k", linewidth=0.8)
    ax_curve.set_ylabel("tonal balance vs the neutral reference (dB)")
    ax_curve.set_title("the clip's tonal balance (0 dB: the mean balance of real productions)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")  # the legend beside the axes included
    plt.close(fig)
    return path
