"""How far the adaptive EQ goes: the step from the audio's balance toward the word's range, bounded as
a mastering engineer bounds a correction, with no boost where the audio has no content, and the
output gain that keeps its loudness.

The word's centre ``c`` (a latent point) and its human spread ``s`` (per latent dimension, the std of
the people's settings behind the word) define its range, the ellipsoid ``|(z − c) / s| ≤ RANGE_WIDTH``
(level coordinate left out). Audio inside it gets no EQ; audio outside is moved toward the range's
edge, ``z_edge = c + (z_audio − c) · RANGE_WIDTH / d`` with ``d = |(z_audio − c) / s|``, by
``intensity``::

    z_final = z_audio + intensity · (z_edge − z_audio)
    applied = response(z_final) − response(z_audio)      (the realised bands at the stream's rate)

Where the audio has content (``ltas.content_mask``), the applied EQ relative to its own loudness
change may boost at most ``max_boost_db``, cut at most ``max_cut_db`` and change by at most
MAX_SLOPE_DB_PER_OCTAVE over any 1/3 octave; where a full step would break one of these, the applied
EQ's gains are scaled down (its shape kept) until it does not. Where the audio has no content (above a
low-pass, below the lowest register), guard shelves take away whatever boost the bands would give. The
loudness change is the K-weighted (BS.1770) power change of the whole EQ on the measured long-term
spectrum; the Processor's output gain undoes it.

The limits come from SAFE-DB (docs/processor.md, "Limits"): of the 1,653 settings people made, the
largest boost relative to the setting's mean level (over 50 Hz–16 kHz) is at most 8 dB for 75 %
(median 5.9 dB), the largest cut at most 12 dB for 91 %, and the steepest change over 1/3 octave at
most 12 dB/octave for 83 %.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import eqdef, ltas
from .measures import k_weighting_db
from .semantics import realisable_bands

DEFAULT_MAX_BOOST_DB = 8.0
DEFAULT_MAX_CUT_DB = 12.0
#: Steepest change of the applied EQ, in dB per octave, measured over 1/3 octave (4 grid points).
MAX_SLOPE_DB_PER_OCTAVE = 12.0
_SLOPE_SPAN = 4
#: Radius of a word's range in units of its human spread (docs/processor.md, "Target range").
RANGE_WIDTH = 0.5
#: Spreads below this fraction of a word's median spread are raised to it (a dimension that nearly
#: all of a word's examples share would otherwise make the range vanishingly thin there).
_SPREAD_FLOOR = 0.25
#: Guard shelves: how far outside the content span (octaves from its edge point) their corner lies,
#: the deepest cut they make, and the refinement steps toward "no boost" outside the content.
_GUARD_OFFSET_OCTAVES = 1.0 / 6.0
_GUARD_LIMIT_DB = 30.0
_GUARD_STEPS = 4
#: The largest boost in a band without content inside the content span (a notch, a gap between
#: registers): outside the span, guard shelves remove every boost.
EMPTY_BOOST_DB = 3.0
#: Where the whole step breaks a limit, the applied EQ's gains are scaled down to the largest share
#: k / _SHARE_STEPS that keeps within the limits: the EQ keeps its shape.
_SHARE_STEPS = 32
_GAIN_COLUMNS = np.array([p[1] == "dB" for p in eqdef.PARAM_LAYOUT])


def range_edge(z_audio, centre, spread, width=None) -> np.ndarray:
    """The point of the range ``|(z − centre) / spread| ≤ width`` (level coordinate, the latent's last,
    left out of the distance) on the line from ``centre`` to ``z_audio``: ``z_audio`` itself when it lies
    inside. ``width`` defaults to RANGE_WIDTH."""
    width = RANGE_WIDTH if width is None else width
    z_audio, centre = np.asarray(z_audio, dtype=np.float64), np.asarray(centre, dtype=np.float64)
    spread = np.asarray(spread, dtype=np.float64)[:-1]
    spread = np.maximum(spread, _SPREAD_FLOOR * np.median(spread))
    distance = float(np.linalg.norm((z_audio - centre)[:-1] / spread))
    if distance <= width:
        return z_audio
    return centre + (z_audio - centre) * (width / distance)


def loudness_change_db(response_db, weights) -> np.ndarray:
    """K-weighted power change (dB) of EQ responses (..., F) on a spectrum given as ``weights`` (F,): each
    grid point's power density × its bandwidth × the K-weighting (``Correction.loudness_weights``)."""
    total = weights.sum()
    if total <= 0:
        return np.zeros(np.shape(response_db)[:-1])
    return 10.0 * np.log10((10.0 ** (np.asarray(response_db) / 10.0) @ weights) / total)


@dataclass
class Plan:
    """What the adaptive EQ applies now: the bands for the filter bank, the EQ's loudness change (dB; the
    output gain is its negative when compensating), and its largest boost and cut relative to that
    change where the audio has content (dB; 0 for a flat EQ)."""

    bands: list
    level_change_db: float
    largest_boost_db: float
    largest_cut_db: float


class Correction:
    """The bounded correction at one sample rate (see the module docstring). ``decode`` maps latents
    (K, latent_dim) to (13-parameter settings (K, 13), responses) as the bundle's decoder does."""

    def __init__(self, decode, sample_rate, max_boost_db=DEFAULT_MAX_BOOST_DB, max_cut_db=DEFAULT_MAX_CUT_DB):
        self._decode = decode
        self.sample_rate = float(sample_rate)
        self.max_boost_db, self.max_cut_db = float(max_boost_db), float(max_cut_db)
        # responses are evaluated on the FREQ_GRID points below Nyquist; limits and guards on those
        # of the analysis band up to the EQ's top frequency
        self._grid = eqdef.FREQ_GRID < 0.5 * self.sample_rate
        self.freqs = eqdef.FREQ_GRID[self._grid]
        checked = ltas.BAND_MASK & (eqdef.FREQ_GRID <= eqdef.MAX_FREQ_FRACTION * self.sample_rate)
        self._checked = np.flatnonzero(checked[self._grid])  # positions in self.freqs
        self._checked_band = np.flatnonzero(checked[ltas.BAND_MASK])  # the same points within the band
        self._k_weight = 10.0 ** (k_weighting_db(self.freqs, self.sample_rate) / 10.0) * self.freqs

    def loudness_weights(self, density) -> np.ndarray:
        """``loudness_change_db``'s weights for a 1/3-octave power density (121,) on FREQ_GRID (a point of
        the log grid spans a band ∝ f, so a density becomes a band power by × f)."""
        return np.asarray(density, dtype=np.float64)[self._grid] * self._k_weight

    def response_db(self, params) -> np.ndarray:
        """dB responses (K, F) at ``freqs`` of 13-parameter settings (K, 13) as realised at this rate."""
        return eqdef.params_response_db(eqdef.clamp_frequencies(params, self.sample_rate), self.freqs,
                                        self.sample_rate)

    def flat(self, params) -> Plan:
        """No EQ: the bands of ``plan`` at 0 dB (they pass audio through unchanged)."""
        return Plan(2 * realisable_bands(params, self.sample_rate, gain_scale=0.0) + self._guards(0.0, 0.0),
                    0.0, 0.0, 0.0)

    def plan(self, z_audio, centre, spread, intensity, density) -> Plan:
        """The bounded step from ``z_audio`` toward the range of the word at ``centre`` with ``spread``,
        on audio whose time-averaged 1/3-octave power density on FREQ_GRID is ``density``."""
        z_audio = np.asarray(z_audio, dtype=np.float64)
        band_density = np.asarray(density, dtype=np.float64)[ltas.BAND_MASK]
        span, bands = (np.zeros(len(self.freqs), dtype=bool) for _ in range(2))
        span[self._checked] = ltas.content_mask(band_density)[self._checked_band]
        bands[self._checked] = ltas.content_bands(band_density)[self._checked_band]
        weights = self.loudness_weights(density)
        direction = range_edge(z_audio, centre, spread) - z_audio
        params, _ = self._decode(np.stack([z_audio, z_audio + intensity * direction]))
        if intensity == 0.0 or not span.any() or weights.sum() <= 0 or not direction.any():
            return self.flat(params[0])

        def within_limits(shares):
            """The largest of ``shares`` (descending) whose scaled EQ keeps within the limits, and its
            applied response; (0, None) if none does."""
            scaled = params[None, :, :] * np.where(_GAIN_COLUMNS, shares[:, None], 1.0)[:, None, :]
            responses = self.response_db(scaled.reshape(-1, eqdef.N_PARAMS)).reshape(len(shares), 2, -1)
            applied = responses[:, 1] - responses[:, 0]
            relative = applied - loudness_change_db(applied, weights)[:, None]
            within = np.flatnonzero(self._excess(relative, span, bands) <= 1.0)
            return (shares[within[0]], applied[within[0]]) if len(within) else (0.0, None)

        # the whole step if it keeps within the limits; else the largest share of _SHARE_STEPS, found
        # coarse (eighths) then fine (the steps between the last eighth within and the next)
        share, applied = within_limits(np.array([1.0]))
        if applied is None:
            share, applied = within_limits(np.arange(7, 0, -1) / 8.0)
            finer = share + np.arange(_SHARE_STEPS // 8 - 1, 0, -1) / _SHARE_STEPS
            finer_share, finer_applied = within_limits(finer)
            if finer_applied is not None:
                share, applied = finer_share, finer_applied
        if applied is None:
            return self.flat(params[0])
        guards, total = self._guard_bands(applied, span, weights)
        level_change = float(loudness_change_db(total, weights))
        relative = total[span] - level_change
        bands = realisable_bands(params[1], self.sample_rate, share) + \
            realisable_bands(params[0], self.sample_rate, -share)
        return Plan(bands + guards, level_change, float(relative.max()), float(relative.min()))

    def _excess(self, relative, span, content) -> np.ndarray:
        """Per candidate (K, F) EQ relative to its loudness change: the largest of boost / max_boost,
        cut / max_cut and slope / MAX_SLOPE within the content ``span``, and of boost / EMPTY_BOOST_DB
        in the span's holes (bands without content between bands with it; ``content`` is False there)."""
        inside = relative[:, span]
        boost = inside.max(axis=1) / self.max_boost_db
        cut = -inside.min(axis=1) / self.max_cut_db
        excess = [boost, cut]
        holes = span & ~content
        if holes.any():
            excess.append(relative[:, holes].max(axis=1) / EMPTY_BOOST_DB)
        spans = np.flatnonzero(span[:-_SLOPE_SPAN] & span[_SLOPE_SPAN:])
        if len(spans):
            octaves = _SLOPE_SPAN / 12.0
            slope = np.abs(relative[:, spans + _SLOPE_SPAN] - relative[:, spans]).max(axis=1) / octaves
            excess.append(slope / MAX_SLOPE_DB_PER_OCTAVE)
        return np.maximum.reduce(excess)

    def _guards(self, low_db, high_db, low_hz=None, high_hz=None) -> list:
        """The two guard shelves (0 dB: they pass audio through unchanged)."""
        low_hz = self.freqs[0] if low_hz is None else low_hz
        high_hz = eqdef.MAX_FREQ_FRACTION * self.sample_rate if high_hz is None else high_hz
        return [("lowshelf", float(low_hz), float(low_db), eqdef.SHELF_Q),
                ("highshelf", float(high_hz), float(high_db), eqdef.SHELF_Q)]

    def _guard_bands(self, applied, content, weights):
        """Shelves below and above the content span that cut what ``applied`` boosts outside it (relative
        to its loudness change), down to 0 dB there (0 dB shelves where nothing needs cutting), and the
        total response with them."""
        checked = np.zeros(len(self.freqs), dtype=bool)
        checked[self._checked] = True
        inside = np.flatnonzero(content)
        below = checked & (np.arange(len(self.freqs)) < inside[0])
        above = checked & (np.arange(len(self.freqs)) > inside[-1])
        top = eqdef.MAX_FREQ_FRACTION * self.sample_rate
        corners = (min(self.freqs[inside[0]] * 2.0 ** -_GUARD_OFFSET_OCTAVES, top),
                   min(self.freqs[inside[-1]] * 2.0 ** _GUARD_OFFSET_OCTAVES, top))
        gains, total = [0.0, 0.0], applied
        for _ in range(_GUARD_STEPS):
            relative = total - float(loudness_change_db(total, weights))
            changed = False
            for side, region in enumerate((below, above)):
                if not region.any():
                    continue
                worst = int(np.flatnonzero(region)[np.argmax(relative[region])])
                if relative[worst] <= 0.05:
                    continue
                # the shelf's share of its gain at that point (for a 1 dB cut when it has none yet), to
                # scale the next gain by
                kind, corner = ("lowshelf", "highshelf")[side], corners[side]
                probe = gains[side] or -1.0
                share = eqdef.bands_response_db([(kind, corner, probe, eqdef.SHELF_Q)], self.freqs[worst:worst + 1],
                                                self.sample_rate)[0] / probe
                gains[side] = max(gains[side] - relative[worst] / max(share, 0.1), -_GUARD_LIMIT_DB)
                changed = True
            if not changed:
                break
            total = applied + eqdef.bands_response_db(self._guards(gains[0], gains[1], *corners), self.freqs,
                                                      self.sample_rate)
        return self._guards(gains[0], gains[1], *corners), total
