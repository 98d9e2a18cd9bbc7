// RBJ designs checked against an independent evaluation of H(e^jw) and the cookbook's defining points.
#include <cmath>
#include <complex>

#include "harness.h"
#include "semeq/rbj.h"

using semeq::BandType;
using semeq::Biquad;

namespace {

const double kPi = 3.14159265358979323846;

// |H(e^jw)| in dB straight from the transfer function (complex arithmetic, no phi form).
double directDb(const Biquad& c, double freq, double fs) {
    const std::complex<double> z1 = std::polar(1.0, -2.0 * kPi * freq / fs);  // z^-1
    const std::complex<double> num = c.b0 + c.b1 * z1 + c.b2 * z1 * z1;
    const std::complex<double> den = 1.0 + c.a1 * z1 + c.a2 * z1 * z1;
    return 20.0 * std::log10(std::abs(num) / std::abs(den));
}

const BandType kTypes[] = {BandType::Peak, BandType::LowShelf, BandType::HighShelf, BandType::LowPass,
                           BandType::HighPass};
const double kRates[] = {8000.0, 44100.0, 48000.0, 192000.0};

}  // namespace

TEST(rbj, response_db_matches_transfer_function) {
    double worst = 0.0;
    for (BandType type : kTypes)
        for (double fs : kRates)
            for (double f0 : {30.0, 1000.0, 0.3 * fs, 0.45 * fs})
                for (double gain : {-12.0, 0.5, 12.0})
                    for (double q : {0.1, 0.707, 10.0}) {
                        const Biquad c = semeq::rbjDesign(type, f0, gain, q, fs);
                        for (double f = 5.0; f < fs / 2; f *= 1.07) {
                            const double direct = directDb(c, f, fs);
                            if (direct < -100.0) continue;  // deep in a low/high-pass stop band
                            worst = std::fmax(worst, std::fabs(direct - semeq::responseDb(c, f, fs)));
                        }
                    }
    // the direct form cancels near DC for poles close to z = 1 (30 Hz at 192 kHz): ~1e-5 dB there
    CHECK(worst < 1e-4, "max |phi-form - direct| = %g dB", worst);
}

// Low f0 at high fs puts poles within ~1e-3 of z = 1; the direct evaluation then loses ~1e-9 dB.
TEST(rbj, designs_hit_their_defining_points) {
    const double kTol = 1e-7;
    for (double fs : kRates)
        for (double f0 : {50.0, 1000.0, 0.4 * fs})
            for (double gain : {-12.0, -3.0, 6.0, 12.0})
                for (double q : {0.3, 0.707, 4.0}) {
                    const Biquad peak = semeq::rbjDesign(BandType::Peak, f0, gain, q, fs);
                    CHECK(std::fabs(directDb(peak, f0, fs) - gain) < kTol, "peak at f0: %g vs %g", directDb(peak, f0, fs), gain);
                    CHECK(std::fabs(directDb(peak, 0.0, fs)) < kTol, "peak at DC");
                    CHECK(std::fabs(directDb(peak, fs / 2, fs)) < kTol, "peak at Nyquist");
                    const Biquad low = semeq::rbjDesign(BandType::LowShelf, f0, gain, q, fs);
                    CHECK(std::fabs(directDb(low, 0.0, fs) - gain) < kTol, "low shelf at DC");
                    CHECK(std::fabs(directDb(low, fs / 2, fs)) < kTol, "low shelf at Nyquist");
                    CHECK(std::fabs(directDb(low, f0, fs) - gain / 2) < kTol, "low shelf at f0 (half gain)");
                    const Biquad high = semeq::rbjDesign(BandType::HighShelf, f0, gain, q, fs);
                    CHECK(std::fabs(directDb(high, 0.0, fs)) < kTol, "high shelf at DC");
                    CHECK(std::fabs(directDb(high, fs / 2, fs) - gain) < kTol, "high shelf at Nyquist");
                    CHECK(std::fabs(directDb(high, f0, fs) - gain / 2) < kTol, "high shelf at f0 (half gain)");
                    const Biquad lp = semeq::rbjDesign(BandType::LowPass, f0, gain, q, fs);
                    CHECK(std::fabs(directDb(lp, 0.0, fs)) < kTol, "low-pass at DC");
                    CHECK(std::fabs(directDb(lp, f0, fs) - 20.0 * std::log10(q)) < kTol, "low-pass at f0 = Q");
                    const Biquad hp = semeq::rbjDesign(BandType::HighPass, f0, gain, q, fs);
                    CHECK(std::fabs(directDb(hp, fs / 2, fs)) < kTol, "high-pass at Nyquist");
                    CHECK(std::fabs(directDb(hp, f0, fs) - 20.0 * std::log10(q)) < kTol, "high-pass at f0 = Q");
                }
}

TEST(rbj, poles_inside_unit_circle_up_to_nyquist) {
    int unstable = 0, total = 0;
    for (BandType type : kTypes)
        for (double fs : kRates)
            for (double rel = 1e-4; rel < 0.4999; rel *= 1.3)
                for (double gain : {-48.0, -12.0, 0.0, 12.0, 48.0})
                    for (double q : {0.025, 0.1, 0.707, 10.0, 40.0}) {
                        const Biquad c = semeq::rbjDesign(type, rel * fs, gain, q, fs);
                        // pole radius from z^2 + a1 z + a2
                        const double disc = c.a1 * c.a1 - 4.0 * c.a2;
                        const double radius = disc < 0.0 ? std::sqrt(c.a2)
                                                         : std::fmax(std::fabs(-c.a1 + std::sqrt(disc)),
                                                                     std::fabs(-c.a1 - std::sqrt(disc))) / 2.0;
                        ++total;
                        if (!(radius < 1.0) || !semeq::isStable(c)) ++unstable;
                    }
    CHECK(unstable == 0, "%d of %d designs unstable", unstable, total);
}
