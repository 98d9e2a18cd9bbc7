#include "semeq/real_fft.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace semeq {

namespace {
constexpr double kPi = 3.14159265358979323846;
}

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
    const int twiddles = std::max(1, half_ / 2);
    twiddleRe_.resize(twiddles);
    twiddleIm_.resize(twiddles);
    for (int j = 0; j < twiddles; ++j) {
        const double a = -2.0 * kPi * j / half_;
        twiddleRe_[j] = std::cos(a);
        twiddleIm_[j] = std::sin(a);
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
    // the first two stages have the twiddles 1 and -i: one radix-4 pass without multiplications
    for (int a = 0; a + 3 < half_; a += 4) {
        const double r0 = re[a] + re[a + 1], i0 = im[a] + im[a + 1];
        const double r1 = re[a] - re[a + 1], i1 = im[a] - im[a + 1];
        const double r2 = re[a + 2] + re[a + 3], i2 = im[a + 2] + im[a + 3];
        const double r3 = re[a + 2] - re[a + 3], i3 = im[a + 2] - im[a + 3];
        re[a] = r0 + r2, im[a] = i0 + i2;
        re[a + 2] = r0 - r2, im[a + 2] = i0 - i2;
        re[a + 1] = r1 + i3, im[a + 1] = i1 - r3;  // + (-i)(r3 + i i3)
        re[a + 3] = r1 - i3, im[a + 3] = i1 + r3;
    }
    for (int len = half_ >= 4 ? 8 : 2; len <= half_; len <<= 1) {
        const int step = half_ / len, h = len / 2;
        for (int start = 0; start < half_; start += len) {
            for (int j = 0; j < h; ++j) {
                const double wr = twiddleRe_[j * step], wi = twiddleIm_[j * step];
                const int a = start + j, b = a + h;
                const double tr = wr * re[b] - wi * im[b], ti = wr * im[b] + wi * re[b];
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
            }
        }
    }
}

void RealFft::load(const double* in) noexcept {
    for (int m = 0; m < half_; ++m) {  // even samples as real parts, odd as imaginary, in bit-reversed order
        re_[bitReverse_[m]] = in[2 * m];
        im_[bitReverse_[m]] = in[2 * m + 1];
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
    for (int i = 0; i < count; ++i) {
        const std::complex<double> x = bin(first + i);
        out[i] = x.real() * x.real() + x.imag() * x.imag();
    }
}

}  // namespace semeq
