#include "semeq/real_fft.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace semeq {

namespace {
constexpr double kPi = 3.14159265358979323846;
}

// The butterfly loops' iterations are independent (the quarters they read and write never overlap):
// said to the compiler, GCC vectorises them (a 4096-point frame 35 -> 25 us; it does not from __restrict
// alone). Clang spells the promise its own way.
#if defined(__clang__)
#define SEMEQ_INDEPENDENT_ITERATIONS _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define SEMEQ_INDEPENDENT_ITERATIONS _Pragma("GCC ivdep")
#else
#define SEMEQ_INDEPENDENT_ITERATIONS
#endif

RealFft::RealFft(int n) : n_(n), half_(n / 2) {
    if (n < 4 || (n & (n - 1)) != 0)
        throw std::invalid_argument("FFT length " + std::to_string(n) + " is not a power of two >= 4");
    bitReverse_.resize(half_);
    int bits = 0;
    while ((1 << bits) < half_) ++bits;
    for (int i = 0; i < half_; ++i) {
        int r = 0;
        for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
        bitReverse_[i] = r;
    }
    // per stage (len = 8, 16, ..., half_), its len / 2 twiddles exp(-2 pi i j / len) one after another,
    // so that a stage reads them contiguously (the compiler vectorises the butterflies then)
    for (int len = 8; len <= half_; len <<= 1)
        for (int j = 0; j < len / 2; ++j) {
            const double a = -2.0 * kPi * j / len;
            twiddleRe_.push_back(std::cos(a));
            twiddleIm_.push_back(std::sin(a));
        }
    splitRe_.resize(half_ + 1);
    splitIm_.resize(half_ + 1);
    for (int k = 0; k <= half_; ++k) {
        const double a = -2.0 * kPi * k / n_;
        splitRe_[k] = std::cos(a);
        splitIm_[k] = std::sin(a);
    }
    re_.resize(half_);
    im_.resize(half_);
}

void RealFft::complexTransform() noexcept {
    double* re = re_.data();
    double* im = im_.data();
    if (half_ == 2) {  // n = 4: one radix-2 stage
        const double r = re[0] - re[1], i = im[0] - im[1];
        re[0] += re[1], im[0] += im[1], re[1] = r, im[1] = i;
        return;
    }
    // the remaining stages two at a time (radix 2^2: half the passes over memory), the last one alone if
    // their count is odd; stage len's twiddles start at offset len / 2 - 4 of the tables
    auto twiddles = [](int len) { return len / 2 - 4; };
    int len = 8;
    for (; 2 * len <= half_; len *= 4) {
        const int h = len / 2;
        const double* w1Re = twiddleRe_.data() + twiddles(len);
        const double* w1Im = twiddleIm_.data() + twiddles(len);
        const double* w2Re = twiddleRe_.data() + twiddles(2 * len);
        const double* w2Im = twiddleIm_.data() + twiddles(2 * len);
        for (int start = 0; start < half_; start += 2 * len) {
            double* __restrict r0 = re + start;
            double* __restrict i0 = im + start;
            double* __restrict r1 = r0 + h;
            double* __restrict i1 = i0 + h;
            double* __restrict r2 = r0 + len;
            double* __restrict i2 = i0 + len;
            double* __restrict r3 = r2 + h;
            double* __restrict i3 = i2 + h;
SEMEQ_INDEPENDENT_ITERATIONS
            for (int j = 0; j < h; ++j) {
                // stage len: (0, 1) and (2, 3) with W_len^j
                double tr = w1Re[j] * r1[j] - w1Im[j] * i1[j], ti = w1Re[j] * i1[j] + w1Im[j] * r1[j];
                const double a0r = r0[j] + tr, a0i = i0[j] + ti, a1r = r0[j] - tr, a1i = i0[j] - ti;
                tr = w1Re[j] * r3[j] - w1Im[j] * i3[j], ti = w1Re[j] * i3[j] + w1Im[j] * r3[j];
                const double a2r = r2[j] + tr, a2i = i2[j] + ti, a3r = r2[j] - tr, a3i = i2[j] - ti;
                // stage 2 len: (0, 2) with W_2len^j, (1, 3) with W_2len^(j + h) = -i W_2len^j
                tr = w2Re[j] * a2r - w2Im[j] * a2i, ti = w2Re[j] * a2i + w2Im[j] * a2r;
                r0[j] = a0r + tr, i0[j] = a0i + ti, r2[j] = a0r - tr, i2[j] = a0i - ti;
                const double vr = w2Im[j], vi = -w2Re[j];  // -i (w2Re + i w2Im)
                tr = vr * a3r - vi * a3i, ti = vr * a3i + vi * a3r;
                r1[j] = a1r + tr, i1[j] = a1i + ti, r3[j] = a1r - tr, i3[j] = a1i - ti;
            }
        }
    }
    if (len <= half_) {  // one radix-2 stage left
        const int h = len / 2;
        const double* wRe = twiddleRe_.data() + twiddles(len);
        const double* wIm = twiddleIm_.data() + twiddles(len);
        for (int start = 0; start < half_; start += len) {
            double* __restrict aRe = re + start;
            double* __restrict aIm = im + start;
            double* __restrict bRe = aRe + h;
            double* __restrict bIm = aIm + h;
SEMEQ_INDEPENDENT_ITERATIONS
            for (int j = 0; j < h; ++j) {
                const double tr = wRe[j] * bRe[j] - wIm[j] * bIm[j], ti = wRe[j] * bIm[j] + wIm[j] * bRe[j];
                bRe[j] = aRe[j] - tr;
                bIm[j] = aIm[j] - ti;
                aRe[j] += tr;
                aIm[j] += ti;
            }
        }
    }
}

void RealFft::load(const double* in) noexcept {
    // even samples as real parts, odd as imaginary, in bit-reversed order (bitReverse_ is its own
    // inverse: position a takes sample pair bitReverse_[a])
    double* re = re_.data();
    double* im = im_.data();
    const int* source = bitReverse_.data();
    if (half_ < 4) {  // n = 4
        for (int a = 0; a < half_; ++a) re[a] = in[2 * source[a]], im[a] = in[2 * source[a] + 1];
        complexTransform();
        return;
    }
    // with the first two stages on the way, four points at a time (one pass over memory, not two): their
    // twiddles are 1 and -i, a radix-4 step without multiplications
    for (int a = 0; a < half_; a += 4) {
        const double* x0 = in + 2 * source[a];
        const double* x1 = in + 2 * source[a + 1];
        const double* x2 = in + 2 * source[a + 2];
        const double* x3 = in + 2 * source[a + 3];
        const double r0 = x0[0] + x1[0], i0 = x0[1] + x1[1];
        const double r1 = x0[0] - x1[0], i1 = x0[1] - x1[1];
        const double r2 = x2[0] + x3[0], i2 = x2[1] + x3[1];
        const double r3 = x2[0] - x3[0], i3 = x2[1] - x3[1];
        re[a] = r0 + r2, im[a] = i0 + i2;
        re[a + 2] = r0 - r2, im[a + 2] = i0 - i2;
        re[a + 1] = r1 + i3, im[a + 1] = i1 - r3;  // + (-i)(r3 + i i3)
        re[a + 3] = r1 - i3, im[a + 3] = i1 + r3;
    }
    complexTransform();
}

std::complex<double> RealFft::bin(int k) const noexcept {
    // X_k = E_k + W^k O_k, with E and O the transforms of the even and odd samples:
    // E_k = (Z_k + conj Z_{h-k}) / 2, O_k = (Z_k - conj Z_{h-k}) / (2i)
    const int p = k == half_ ? 0 : k, q = k == 0 ? 0 : half_ - k;  // Z is periodic in half_
    const double evenRe = 0.5 * (re_[p] + re_[q]), evenIm = 0.5 * (im_[p] - im_[q]);
    const double oddRe = 0.5 * (im_[p] + im_[q]), oddIm = -0.5 * (re_[p] - re_[q]);
    const double wr = splitRe_[k], wi = splitIm_[k];
    return {evenRe + wr * oddRe - wi * oddIm, evenIm + wr * oddIm + wi * oddRe};
}

void RealFft::transform(const double* in, std::complex<double>* out) noexcept {
    load(in);
    for (int k = 0; k <= half_; ++k) out[k] = bin(k);
}

void RealFft::power(const double* in, double* out, int first, int count) noexcept {
    load(in);
    // bins 0 < k < n/2 as bin() computes them, without its two edge cases, in a loop the compiler
    // vectorises (Z_{h-k} read backwards); bins 0 and n/2 through bin()
    const int last = first + count, begin = std::max(first, 1), end = std::max(begin, std::min(last, half_));
    for (int k = first; k < begin; ++k) {
        const std::complex<double> x = bin(k);
        out[k - first] = x.real() * x.real() + x.imag() * x.imag();
    }
    const double* __restrict re = re_.data();
    const double* __restrict im = im_.data();
    const double* __restrict wRe = splitRe_.data();
    const double* __restrict wIm = splitIm_.data();
    double* __restrict o = out - first;
    const int h = half_;
    for (int k = begin; k < end; ++k) {
        const double evenRe = 0.5 * (re[k] + re[h - k]), evenIm = 0.5 * (im[k] - im[h - k]);
        const double oddRe = 0.5 * (im[k] + im[h - k]), oddIm = -0.5 * (re[k] - re[h - k]);
        const double xr = evenRe + wRe[k] * oddRe - wIm[k] * oddIm, xi = evenIm + wRe[k] * oddIm + wIm[k] * oddRe;
        o[k] = xr * xr + xi * xi;
    }
    for (int k = end; k < last; ++k) {
        const std::complex<double> x = bin(k);
        out[k - first] = x.real() * x.real() + x.imag() * x.imag();
    }
}

}  // namespace semeq
