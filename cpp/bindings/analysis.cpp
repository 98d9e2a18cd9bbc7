// semeq_rt._core: the engine's analysis parts, bound for the golden tests that tie them to their Python
// twins (tests/test_engine.py) and for semeq_rt.analysis.frame_geometry: the EQ layout, the real FFT,
// the streaming spectrum meter and the tonal balance.
#include "analysis.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <complex>
#include <vector>

#include "semeq/eq_layout.h"
#include "semeq/real_fft.h"
#include "semeq/spectrum_meter.h"
#include "semeq/tonal_balance.h"

namespace py = pybind11;

void bindAnalysis(py::module_& m) {
    using Doubles = py::array_t<double, py::array::c_style | py::array::forcecast>;
    using Floats = py::array_t<float, py::array::c_style | py::array::forcecast>;
    m.def("frame_geometry",
          [](int nFft, int hop, double sampleRate, double modelRate) {
              const semeq::FrameGeometry g = semeq::frameGeometry(nFft, hop, sampleRate, modelRate);
              return py::make_tuple(g.nFft, g.hop);
          },
          py::arg("n_fft"), py::arg("hop"), py::arg("sample_rate"), py::arg("model_rate"),
          "(n_fft, hop) at sample_rate for frames defined as (n_fft, hop) at model_rate (spectrum_meter.h).");
    m.def("eq_layout",
          []() {
              namespace eq = semeq::eq;
              py::dict d;
              d["freq_grid_hz"] = std::vector<double>(eq::freqGrid().begin(), eq::freqGrid().end());
              py::list params, bands;
              for (const auto& p : eq::kParamLayout) params.append(py::make_tuple(p.name, p.unit, p.low, p.high));
              for (const auto& b : eq::kBandLayout)
                  bands.append(py::make_tuple(semeq::kBandTypeNames[static_cast<int>(b.type)], b.gain, b.freq, b.q));
              d["param_layout"] = params;
              d["bands"] = bands;
              d["shelf_q"] = semeq::kShelfQ;
              d["max_freq_fraction"] = eq::kMaxFreqFraction;
              d["analysis_band_hz"] = py::make_tuple(eq::kAnalysisLowHz, eq::kAnalysisHighHz);
              d["content_range_db"] = semeq::balance::kContentRangeDb;
              d["content_range_narrow_db"] = semeq::balance::kContentRangeNarrowDb;
              d["content_narrow_hz"] = semeq::balance::kContentNarrowHz;
              d["relative_floor"] = semeq::balance::kRelativeFloor;
              d["balance_limit_db"] = semeq::balance::kBalanceLimitDb;
              return d;
          },
          "The C++ definition of the EQ contract and the balance's constants (eq_layout.h, tonal_balance.h).");
    m.def("_params_to_bands",
          [](const Doubles& params, double sampleRate, double gainScale) {
              if (params.size() != semeq::eq::kNumParams) throw py::value_error("expected 13 parameters");
              semeq::Band bands[semeq::eq::kNumBands];
              semeq::eq::paramsToBands(params.data(), sampleRate, gainScale, bands);
              py::list out;
              for (const auto& b : bands)
                  out.append(py::make_tuple(semeq::kBandTypeNames[static_cast<int>(b.type)], b.freq, b.gainDb, b.q));
              return out;
          });
    m.def("_rfft", [](const Doubles& x) {
        semeq::RealFft fft(static_cast<int>(x.size()));
        py::array_t<std::complex<double>> out(x.size() / 2 + 1);
        fft.transform(x.data(), out.mutable_data());
        return out;
    });
    m.def("_stream_density",
          [](const Floats& mid, double sampleRate, int nFft, int hop, int window, int64_t block) {
              semeq::SpectrumMeter meter(sampleRate, nFft, hop, window);
              for (int64_t i = 0; i < mid.size(); i += block)
                  meter.push(mid.data() + i, std::min<int64_t>(block, mid.size() - i));
              std::vector<double> power(meter.usedBins());
              py::array_t<double> out(semeq::eq::kGridPoints);
              if (!meter.meanPower(power.data())) throw py::value_error("no complete frame");
              meter.density(power.data(), out.mutable_data());
              return out;
          },
          "The SpectrumMeter's density after streaming `mid` in blocks of `block` samples.");
    m.def("_signal_density", [](const Doubles& mid, double sampleRate, int nFft, int hop) {
        semeq::SpectrumMeter meter(sampleRate, nFft, hop, nFft);
        py::array_t<double> out(semeq::eq::kGridPoints);
        meter.signalDensity(mid.data(), mid.size(), out.mutable_data());
        return out;
    });
    m.def("_balance",
          [](const Doubles& density, const Doubles& referenceDb) -> py::object {
              if (density.size() != semeq::eq::kGridPoints || referenceDb.size() != semeq::eq::kGridPoints)
                  throw py::value_error("density and reference_db hold 121 values each");
              const double* band = density.data() + semeq::eq::analysisFirst();
              int first, last;
              if (!semeq::balance::contentSpan(band, &first, &last)) return py::none();
              py::array_t<double> out(semeq::eq::kGridPoints);
              semeq::balance::balanceFromDensity(band, referenceDb.data(), first, last, out.mutable_data());
              return py::make_tuple(out, first, last);
          },
          "(balance on the grid, content span's first and last analysis-band index) of a density; None: silence.");
}
