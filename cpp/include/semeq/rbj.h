// RBJ "Audio EQ Cookbook" biquad designs and their magnitude response.
//
// The C++ twin of python/semeq_rt/eqdef.py (rbj_coefficients, biquad_response_db): same formulas, same
// order of operations, same normalisation (a0 = 1, coefficients (b0, b1, b2, a1, a2)).
// tests/test_eqdef_golden.py holds the two together.
//
// Near Nyquist: the designs come from the bilinear transform, so a band is exact at its centre and at
// DC and is compressed toward fs/2 (above ~fs/4 a peak narrows; a high shelf reaches its plateau only
// at fs/2). Frequencies must lie strictly inside (0, fs/2); at fs/2 itself sin(w0) = 0 and a peak's
// poles would sit on the unit circle, which is why FilterBank rejects f >= fs/2.
#pragma once

#include <cmath>

namespace semeq {

// Integer codes match eqdef.BAND_TYPES: ("peak", "lowshelf", "highshelf", "lowpass", "highpass").
enum class BandType : int { Peak = 0, LowShelf = 1, HighShelf = 2, LowPass = 3, HighPass = 4 };
constexpr int kNumBandTypes = 5;
// by code; tests/test_filterbank.py checks them against eqdef.BAND_TYPES
constexpr const char* kBandTypeNames[kNumBandTypes] = {"peak", "lowshelf", "highshelf", "lowpass", "highpass"};

// Shelf slope S = 1 (the SAFE plugin's shelves), i.e. Q = 1/sqrt(2).
constexpr double kShelfQ = 0.70710678118654752440;

// One second-order section, normalised so that a0 = 1. The default is the identity (y = x).
struct Biquad {
    double b0 = 1.0, b1 = 0.0, b2 = 0.0, a1 = 0.0, a2 = 0.0;
};

inline bool operator==(const Biquad& x, const Biquad& y) {
    return x.b0 == y.b0 && x.b1 == y.b1 && x.b2 == y.b2 && x.a1 == y.a1 && x.a2 == y.a2;
}
inline bool operator!=(const Biquad& x, const Biquad& y) { return !(x == y); }

// RBJ design from cos(w0) and sin(w0), w0 = 2 pi freq / sampleRate, and the cookbook's
// A = 10^(gainDb / 40) (lets a ramp skip the trigonometry and compute A its own way). A is ignored for
// low-pass/high-pass.
inline Biquad rbjDesignTrigA(BandType type, double cosW0, double sinW0, double bigA, double q) {
    const double alpha = sinW0 / (2.0 * q);
    double b0, b1, b2, a0, a1, a2;
    switch (type) {
        case BandType::Peak:
            b0 = 1.0 + alpha * bigA;
            b1 = -2.0 * cosW0;
            b2 = 1.0 - alpha * bigA;
            a0 = 1.0 + alpha / bigA;
            a1 = -2.0 * cosW0;
            a2 = 1.0 - alpha / bigA;
            break;
        case BandType::LowShelf:
        case BandType::HighShelf: {
            const double sign = type == BandType::LowShelf ? 1.0 : -1.0;
            const double twoSqrtAAlpha = 2.0 * std::sqrt(bigA) * alpha;
            const double ap1 = bigA + 1.0, am1 = bigA - 1.0;
            b0 = bigA * (ap1 - sign * am1 * cosW0 + twoSqrtAAlpha);
            b1 = sign * 2.0 * bigA * (am1 - sign * ap1 * cosW0);
            b2 = bigA * (ap1 - sign * am1 * cosW0 - twoSqrtAAlpha);
            a0 = ap1 + sign * am1 * cosW0 + twoSqrtAAlpha;
            a1 = -sign * 2.0 * (am1 + sign * ap1 * cosW0);
            a2 = ap1 + sign * am1 * cosW0 - twoSqrtAAlpha;
            break;
        }
        case BandType::LowPass:
        case BandType::HighPass:
        default: {
            const double sign = type == BandType::LowPass ? 1.0 : -1.0;
            const double edge = (1.0 - sign * cosW0) / 2.0;
            b0 = edge;
            b1 = sign * 2.0 * edge;
            b2 = edge;
            a0 = 1.0 + alpha;
            a1 = -2.0 * cosW0;
            a2 = 1.0 - alpha;
            break;
        }
    }
    return Biquad{b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0};
}

// The same from gainDb (ignored for low-pass/high-pass).
inline Biquad rbjDesignTrig(BandType type, double cosW0, double sinW0, double gainDb, double q) {
    return rbjDesignTrigA(type, cosW0, sinW0, std::pow(10.0, gainDb / 40.0), q);
}

// RBJ design. gainDb is ignored for low-pass/high-pass. No validation here (FilterBank validates).
inline Biquad rbjDesign(BandType type, double freq, double gainDb, double q, double sampleRate) {
    const double w0 = 2.0 * 3.14159265358979323846 * freq / sampleRate;
    return rbjDesignTrig(type, std::cos(w0), std::sin(w0), gainDb, q);
}

// The cookbook's magnitude form in phi = sin^2(w/2) (precise near DC): phi of a frequency, and a section's
// power gain |H|^2 at phi as its numerator and denominator (each clamped at kTinyPower, so that a deep
// low/high-pass stop band reads -300 dB instead of -inf).
constexpr double kTinyPower = 1e-30;
inline double responsePhi(double freq, double sampleRate) {
    const double s = std::sin(3.14159265358979323846 * freq / sampleRate);
    return s * s;
}
inline void powerGainParts(const Biquad& c, double phi, double* num, double* den) {
    auto power = [phi](double c0, double c1, double c2) {
        const double sum = c0 + c1 + c2;
        return sum * sum - 4.0 * (c0 * c1 + 4.0 * c0 * c2 + c1 * c2) * phi + 16.0 * c0 * c2 * (phi * phi);
    };
    const double n = power(c.b0, c.b1, c.b2), d = power(1.0, c.a1, c.a2);
    *num = n > kTinyPower ? n : kTinyPower;
    *den = d > kTinyPower ? d : kTinyPower;
}

// Magnitude response in dB at freq.
inline double responseDb(const Biquad& c, double freq, double sampleRate) {
    double num, den;
    powerGainParts(c, responsePhi(freq, sampleRate), &num, &den);
    return 10.0 * (std::log10(num) - std::log10(den));
}

// Poles strictly inside the unit circle (the stability triangle |a1| < 1 + a2, a2 < 1).
inline bool isStable(const Biquad& c) { return c.a2 < 1.0 && std::fabs(c.a1) < 1.0 + c.a2; }

}  // namespace semeq
