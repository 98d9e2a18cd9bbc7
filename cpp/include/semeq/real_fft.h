// semeq::RealFft — power spectrum |X_k|^2 of a real sequence of power-of-two length, in double precision.
//
// Why our own: `pip install .` cannot count on system FFT packages (no PyPI wheel ships FFT headers)
// and the analysis needs only the periodogram of a few 4096-point frames per second. A complex radix-2
// transform of n/2 points on the even/odd samples, split into the n/2 + 1 bins of the real transform;
// twiddles are precomputed with cos/sin (no recurrences), so the error stays at numpy's level
// (cpp/tests/test_real_fft.cpp and tests/test_engine.py compare with numpy.fft.rfft).
//
// Threads: one transform at a time per object (it owns its work buffer); power() never allocates.
#pragma once

#include <algorithm>
#include <complex>
#include <vector>

namespace semeq {

class RealFft {
public:
    // n: a power of two >= 4 (std::invalid_argument otherwise).
    explicit RealFft(int n);

    int size() const noexcept { return n_; }

    // |X_k|^2 for k in [first, first + count) of the n-point real sequence `in` (count <= n/2 + 1 - first).
    void power(const double* in, double* out, int first, int count) noexcept;

    // The bins X_0 .. X_{n/2} (for tests).
    void transform(const double* in, std::complex<double>* out) noexcept;

private:
    void load(const double* in) noexcept;  // the n/2-point complex transform of `in` into re_, im_
    void complexTransform() noexcept;       // the stages after load()'s first two, in place on re_, im_
    std::complex<double> bin(int k) const noexcept;  // X_k after load()

    // Real and imaginary parts in separate arrays: std::complex arithmetic ran 10x slower here (GCC 12).
    int n_, half_;
    std::vector<int> bitReverse_;              // half_ entries
    std::vector<double> twiddleRe_, twiddleIm_;  // per stage of length len >= 8: exp(-2 pi i j / len), j < len/2
    std::vector<double> splitRe_, splitIm_;      // exp(-2 pi i k / n_), k <= half_
    std::vector<double> re_, im_;
};

}  // namespace semeq
