// A small fixed model for the engine's C++ tests and benchmark (bench/cpp/bench_processor.cpp): the
// engine's interface is what they exercise; the Python tests run the bundle's ONNX models.
#pragma once

#include <algorithm>
#include <atomic>

#include "semeq/analysis_model.h"
#include "semeq/eq_layout.h"

namespace semeq::testing {

inline constexpr int kDim = 4;
inline constexpr double kRate = 48000.0;

// latent = (low, mid, high thirds' mean balance / 6, 0); a setting's gains follow the latent (shelves
// at 150 Hz and 4 kHz, a peak at 1 kHz), so the adaptive EQ is the difference of two such settings.
class LinearModel final : public AnalysisModel {
public:
    int latentDim() const override { return kDim; }
    void measure(const double* balance, const double*, double* latent) override {
        const int first = eq::analysisFirst(), n = eq::analysisCount();
        for (int part = 0; part < 3; ++part) {
            double sum = 0.0;
            for (int i = part * n / 3; i < (part + 1) * n / 3; ++i) sum += balance[first + i];
            latent[part] = sum / (n / 3) / 6.0;
        }
        latent[3] = 0.0;
        calls.fetch_add(1, std::memory_order_relaxed);
    }
    void decode(const double* latents, int count, double* params) override {
        for (int k = 0; k < count; ++k) {
            const double* z = latents + k * kDim;
            double* p = params + k * eq::kNumParams;
            const double gains[3] = {std::clamp(6.0 * z[0], -12.0, 12.0), std::clamp(6.0 * z[1], -12.0, 12.0),
                                     std::clamp(6.0 * z[2], -12.0, 12.0)};
            const double setting[eq::kNumParams] = {gains[0], 150.0, 0.0,    300.0,  1.0, gains[1], 1000.0,
                                                    1.0,      0.0,   3000.0, 1.0, gains[2], 4000.0};
            std::copy(setting, setting + eq::kNumParams, p);
        }
    }
    std::atomic<int> calls{0};
};

inline constexpr double kWarm[kDim] = {1.0, 0.2, -0.8, 0.0};
inline constexpr double kBright[kDim] = {-0.8, 0.1, 1.0, 0.0};
inline constexpr double kSpread[kDim] = {0.3, 0.3, 0.3, 1.0};

}  // namespace semeq::testing
