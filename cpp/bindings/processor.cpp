// semeq_rt._core.Processor: thin binding of semeq::Processor. The Python class semeq_rt.Processor
// subclasses it (terms, validation, docs) and supplies the model: _core.OnnxModel where the extension has
// it, else two callables over the bundle's ONNX Runtime sessions; process() is bound as a plain METH_O
// method (the per-block call).
//
// The GIL: every call that can take the engine's control lock releases the GIL first, and the model
// callables take it back only for the model call (a C++ model, _core.OnnxModel, never takes it), so a
// thread waiting for the lock never holds the GIL that the lock's holder needs. process() runs with the
// GIL released.
#include "processor.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <array>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "semeq/processor.h"

namespace py = pybind11;

namespace {

// semeq::AnalysisModel over Python callables: measure(balance (121,) float64, previous latent or None)
// -> latent, and decode(latents (n, dim) float32) -> settings (n, 13).
class CallbackModel final : public semeq::AnalysisModel {
public:
    CallbackModel(int dim, py::object measure, py::object decode)
        : dim_(dim), measure_(std::move(measure)), decode_(std::move(decode)) {}
    ~CallbackModel() override {
        py::gil_scoped_acquire gil;
        measure_ = py::object();
        decode_ = py::object();
    }

    int latentDim() const override { return dim_; }

    void measure(const double* balanceDb, const double* previous, double* latent) override {
        py::gil_scoped_acquire gil;
        py::array_t<double> balance(semeq::eq::kGridPoints);
        std::copy(balanceDb, balanceDb + semeq::eq::kGridPoints, balance.mutable_data());
        py::object start = py::none();
        if (previous != nullptr) {
            py::array_t<float> p(dim_);
            for (int i = 0; i < dim_; ++i) p.mutable_data()[i] = static_cast<float>(previous[i]);
            start = p;
        }
        const auto z = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(measure_(balance, start));
        if (!z || z.size() != dim_)
            throw std::runtime_error("the model's measure() must return " + std::to_string(dim_) + " numbers");
        std::copy(z.data(), z.data() + dim_, latent);
    }

    void decode(const double* latents, int count, double* params) override {
        py::gil_scoped_acquire gil;
        py::array_t<float> z({count, dim_});
        for (int i = 0; i < count * dim_; ++i) z.mutable_data()[i] = static_cast<float>(latents[i]);
        const auto p = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(decode_(z));
        if (!p || p.size() != static_cast<py::ssize_t>(count) * semeq::eq::kNumParams)
            throw std::runtime_error("the model's decode() must return (n, 13) settings");
        std::copy(p.data(), p.data() + p.size(), params);
    }

private:
    int dim_;
    py::object measure_, decode_;
};

std::vector<double> latentArgument(const py::array_t<double, py::array::c_style | py::array::forcecast>& a, int dim,
                                   const char* name) {
    if (a.size() != dim) throw py::value_error(std::string(name) + " must hold " + std::to_string(dim) + " numbers");
    return std::vector<double>(a.data(), a.data() + dim);
}

// The engine's model from `model`: a _core.AnalysisModel (the C++ OnnxModel), or a Python object with
// latent_dim, measure and decode (semeq_rt.processor._BundleModel).
std::shared_ptr<semeq::AnalysisModel> engineModel(const py::object& model) {
    if (py::isinstance<semeq::AnalysisModel>(model)) return model.cast<std::shared_ptr<semeq::AnalysisModel>>();
    return std::make_shared<CallbackModel>(model.attr("latent_dim").cast<int>(), model.attr("measure"),
                                           model.attr("decode"));
}

class PyProcessor {
public:
    PyProcessor(const semeq::ProcessorOptions& options, const py::object& modelObject,
                const py::array_t<double, py::array::c_style | py::array::forcecast>& centre,
                const py::array_t<double, py::array::c_style | py::array::forcecast>& spread, double intensity) {
        std::shared_ptr<semeq::AnalysisModel> model = engineModel(modelObject);
        const int dim = model->latentDim();
        const std::vector<double> c = latentArgument(centre, dim, "centre"), s = latentArgument(spread, dim, "spread");
        py::gil_scoped_release release;
        engine_ = std::make_unique<semeq::Processor>(options, std::move(model), c.data(), s.data(), intensity);
    }
    ~PyProcessor() {
        py::gil_scoped_release release;  // the analysis thread may be waiting for the GIL
        engine_.reset();
    }

    semeq::Processor& engine() { return *engine_; }

    // x: a float32 C-contiguous (channels, n) array, or (n,) for one channel: filtered into a new array.
    // Anything else goes through semeq_rt.validate.audio_block (conversions, and the one wording of errors).
    py::object process(py::handle x) {
        const int channels = engine_->options().channels;
        py::array in, out;  // (a default py::array is an empty array, not a null handle)
        bool fast = false, squeeze = false;
        if (py::isinstance<py::array>(x)) {
            in = py::reinterpret_borrow<py::array>(x);
            fast = in.dtype().num() == py::detail::npy_api::NPY_FLOAT_ && (in.flags() & py::array::c_style) &&
                   ((in.ndim() == 2 && in.shape(0) == channels) || (in.ndim() == 1 && channels == 1));
        }
        if (fast) {
            out = py::array_t<float>(std::vector<py::ssize_t>(in.shape(), in.shape() + in.ndim()));
        } else {
            const py::tuple checked = py::module_::import("semeq_rt.validate")
                                          .attr("audio_block")(x, channels, "Processor");
            in = out = checked[0].cast<py::array>();
            squeeze = checked[1].cast<bool>();
        }
        const int64_t frames = in.shape(in.ndim() - 1);
        const auto* src = static_cast<const float*>(in.data());
        auto* dst = static_cast<float*>(out.mutable_data());
        const float* inPtr[semeq::Processor::kMaxChannels];
        float* outPtr[semeq::Processor::kMaxChannels];
        for (int c = 0; c < channels; ++c) {
            inPtr[c] = src + c * frames;
            outPtr[c] = dst + c * frames;
        }
        {
            py::gil_scoped_release release;
            std::lock_guard<std::mutex> lock(streamMutex_);
            engine_->process(inPtr, outPtr, frames);
        }
        if (squeeze) return out[py::int_(0)];
        return std::move(out);
    }

    void prime(const py::array_t<float, py::array::c_style | py::array::forcecast>& audio) {
        const int channels = engine_->options().channels;
        if (audio.ndim() != 2 || audio.shape(0) != channels)
            throw py::value_error("prime takes (channels, samples) float32 audio");
        const int64_t frames = audio.shape(1);
        const float* ptr[semeq::Processor::kMaxChannels];
        for (int c = 0; c < channels; ++c) ptr[c] = audio.data() + c * frames;
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> lock(streamMutex_);
        engine_->prime(ptr, frames);
    }

    void reset() {
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> lock(streamMutex_);
        engine_->reset();
    }

    void close() {
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> lock(streamMutex_);
        engine_->close();
    }

private:
    std::unique_ptr<semeq::Processor> engine_;
    std::mutex streamMutex_;  // process / prime / reset: one at a time
};

// Processor.process(x) as a plain METH_O method, as FilterBank.process_inplace.
PyObject* processMethod(PyObject* self, PyObject* x) {
    try {
        return py::handle(self).cast<PyProcessor&>().process(x).release().ptr();
    } catch (py::error_already_set& e) {
        e.restore();
    } catch (const py::builtin_exception& e) {
        e.set_error();
    } catch (const std::invalid_argument& e) {
        PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const std::exception& e) {
        PyErr_SetString(PyExc_RuntimeError, e.what());
    }
    return nullptr;
}

}  // namespace

void bindProcessor(py::module_& m) {
    using Doubles = py::array_t<double, py::array::c_style | py::array::forcecast>;
    m.attr("EARLY_ANALYSES_S") = py::make_tuple(semeq::Processor::kEarlyAnalysesS[0],
                                                semeq::Processor::kEarlyAnalysesS[1],
                                                semeq::Processor::kEarlyAnalysesS[2]);
    py::dict ranges;
    for (const semeq::OptionRange& r : semeq::kOptionRanges)
        ranges[r.name] = py::make_tuple(r.low, r.high, r.lowIncluded, r.unit);
    m.attr("OPTION_RANGES") = ranges;
    m.attr("DEFAULT_MAX_BOOST_DB") = semeq::kDefaultMaxBoostDb;
    m.attr("DEFAULT_MAX_CUT_DB") = semeq::kDefaultMaxCutDb;
    m.attr("EMPTY_BOOST_DB") = semeq::kEmptyBoostDb;
    m.attr("RANGE_WIDTH") = semeq::kRangeWidth;
    m.attr("MAX_SLOPE_DB_PER_OCTAVE") = semeq::kMaxSlopeDbPerOctave;

    // the engine's model interface: what a Processor takes as its model besides a Python object with
    // latent_dim, measure and decode (bindings/onnx_model.cpp binds its ONNX Runtime implementation)
    py::class_<semeq::AnalysisModel, std::shared_ptr<semeq::AnalysisModel>>(m, "AnalysisModel")
        .def_property_readonly("latent_dim", &semeq::AnalysisModel::latentDim);

    py::class_<PyProcessor> cls(m, "Processor");
    cls.def(py::init([](double sampleRate, int channels, bool adaptive, bool realtime, bool loudnessCompensation,
                        double smoothingMs, double analysisInterval, double adaptationTime, double maxBoostDb,
                        double maxCutDb, double modelSampleRate, int modelWindow, int frameSize, int frameHop,
                        double frameSampleRate, const Doubles& referenceDb, const py::object& model,
                        const Doubles& centre, const Doubles& spread, double intensity) {
                if (referenceDb.size() != semeq::eq::kGridPoints)
                    throw py::value_error("reference_db must hold " + std::to_string(semeq::eq::kGridPoints) + " values");
                semeq::ProcessorOptions o;
                o.sampleRate = sampleRate, o.channels = channels, o.adaptive = adaptive, o.realtime = realtime;
                o.loudnessCompensation = loudnessCompensation, o.smoothingMs = smoothingMs;
                o.analysisInterval = analysisInterval, o.adaptationTime = adaptationTime;
                o.maxBoostDb = maxBoostDb, o.maxCutDb = maxCutDb;
                o.modelSampleRate = modelSampleRate, o.modelWindow = modelWindow;
                o.frameSize = frameSize, o.frameHop = frameHop, o.frameSampleRate = frameSampleRate;
                std::copy(referenceDb.data(), referenceDb.data() + semeq::eq::kGridPoints, o.referenceDb.begin());
                return new PyProcessor(o, model, centre, spread, intensity);
            }),
            py::kw_only(), py::arg("sample_rate"), py::arg("channels"), py::arg("adaptive"), py::arg("realtime"),
            py::arg("loudness_compensation"), py::arg("smoothing_ms"), py::arg("analysis_interval"),
            py::arg("adaptation_time"), py::arg("max_boost_db"), py::arg("max_cut_db"), py::arg("model_sample_rate"),
            py::arg("model_window"), py::arg("frame_size"), py::arg("frame_hop"), py::arg("frame_sample_rate"),
            py::arg("reference_db"), py::arg("model"), py::arg("centre"), py::arg("spread"), py::arg("intensity"))
        .def("_set_target",
             [](PyProcessor& self, const Doubles& centre, const Doubles& spread) {
                 const int dim = self.engine().latentDim();
                 const std::vector<double> c = latentArgument(centre, dim, "centre"),
                                           s = latentArgument(spread, dim, "spread");
                 py::gil_scoped_release release;
                 self.engine().setTarget(c.data(), s.data());
             })
        .def("_set_intensity", [](PyProcessor& self, double intensity) { self.engine().setIntensity(intensity); },
             py::call_guard<py::gil_scoped_release>())
        .def("_prime", &PyProcessor::prime)
        .def("reset", &PyProcessor::reset, "reset()\n\nForget the stream: filter state, the analysis frames and the "
                                           "measured balance.")
        .def("close", &PyProcessor::close,
             "close()\n\nStop the analysis thread (realtime mode). Later process() calls still work, analysing "
             "synchronously as with realtime=False.")
        .def("_applied_response",
             [](PyProcessor& self, const Doubles& freqs) {
                 py::array_t<double> out(freqs.size());
                 const double* f = freqs.data();
                 double* o = out.mutable_data();
                 const auto n = freqs.size();
                 py::gil_scoped_release release;
                 self.engine().appliedResponseDb(f, o, n);
                 return out;
             })
        .def_property_readonly("_intensity", [](PyProcessor& self) {
            py::gil_scoped_release release;
            return self.engine().intensity();
        })
        .def_property_readonly("eq_bands",
             [](PyProcessor& self) {
                 semeq::Band bands[semeq::Plan::kBands];
                 int count;
                 {
                     py::gil_scoped_release release;
                     count = self.engine().eqBands(bands);
                 }
                 py::list out;
                 for (int i = 0; i < count; ++i)
                     out.append(py::make_tuple(semeq::kBandTypeNames[static_cast<int>(bands[i].type)], bands[i].freq,
                                               bands[i].gainDb, bands[i].q));
                 return out;
             },
             "The (type, freq_hz, gain_db, q) bands handed to the filter bank now (its target).")
        .def_property_readonly("audio_latent",
             [](PyProcessor& self) -> py::object {
                 double z[semeq::kMaxLatentDim];
                 bool has;
                 {
                     py::gil_scoped_release release;
                     has = self.engine().audioLatent(z);
                 }
                 if (!has) return py::none();
                 py::array_t<float> out(self.engine().latentDim());
                 for (int i = 0; i < self.engine().latentDim(); ++i) out.mutable_data()[i] = static_cast<float>(z[i]);
                 return std::move(out);
             },
             "The measured balance of the input (latent), or None before the first analysis.")
        .def_property_readonly("content_span_hz",
             [](PyProcessor& self) -> py::object {
                 double low, high;
                 bool has;
                 {
                     py::gil_scoped_release release;
                     has = self.engine().contentSpanHz(&low, &high);
                 }
                 if (!has) return py::none();
                 return py::make_tuple(low, high);
             },
             "(lowest, highest) frequency of the analysis band (50 Hz-16 kHz grid points) where the measured audio "
             "has content: the EQ boosts nothing outside it. None before the first measurement, in static mode, and "
             "for silence.")
        .def_property_readonly("largest_boost_db", [](PyProcessor& self) {
                 py::gil_scoped_release release;
                 return self.engine().largestBoostDb();
             },
             "The largest boost (dB, output gain included) of the EQs handed to the filter bank since the last "
             "reset, where the audio has content in 50 Hz-16 kHz (static mode: over that band).")
        .def_property_readonly("largest_cut_db", [](PyProcessor& self) {
                 py::gil_scoped_release release;
                 return self.engine().largestCutDb();
             },
             "The largest cut (dB, negative or 0), as largest_boost_db.")
        .def_property_readonly("output_gain_db", [](PyProcessor& self) { return self.engine().outputGainDb(); },
             "The loudness-compensation gain being applied now (0 when compensation is off).")
        .def_property_readonly("analyses", [](PyProcessor& self) { return self.engine().analyses(); },
             "Measurements that reached the EQ since the last reset.")
        .def_property_readonly("skipped_analyses", [](PyProcessor& self) { return self.engine().skippedAnalyses(); },
             "Realtime mode: analyses dropped because the analysis thread was still busy.")
        .def_property_readonly("analysis_window_samples",
             [](PyProcessor& self) { return self.engine().analysisWindowSamples(); },
             "Samples of input that one analysis measures (adaptive mode; 0 in static mode).")
        .def_property_readonly("analysis_interval_samples",
             [](PyProcessor& self) { return self.engine().analysisIntervalSamples(); },
             "Samples between analyses once the full window has arrived (adaptive mode; 0 in static mode).")
        .def_property_readonly("adopt_delay_samples",
             [](PyProcessor& self) { return self.engine().adoptDelaySamples(); },
             "Deterministic schedule: samples from the end of an analysis's window to where its EQ takes effect "
             "(45 ms, at most 2048 samples): the measurement and the EQ's recomputation then run in different "
             "blocks of up to that many frames.")
        .def_property_readonly("realtime_running", [](PyProcessor& self) { return self.engine().realtimeRunning(); },
             "Whether the engine's analysis thread runs.");
    static PyMethodDef processDef{
        "process", processMethod, METH_O,
        "process($self, x, /)\n--\n\n"
        "EQ one block; returns a new float32 array of the block's shape. Stateful: call it with consecutive\n"
        "blocks of one stream. x: (channels, samples) float32, float64 or int16 (scaled by 1/32768); a\n"
        "1-channel processor also takes (samples,). Releases the GIL while it runs."};
    PyObject* process = PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(cls.ptr()), &processDef);
    if (process == nullptr) throw py::error_already_set();
    cls.attr("process") = py::reinterpret_steal<py::object>(process);

}
