// semeq_rt._core: thin pybind11 binding of semeq::FilterBank and the RBJ designs.
// The Python class semeq_rt.FilterBank subclasses _core.FilterBank (argument parsing, docs); the
// processing methods are bound directly so a call costs one C++ dispatch.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>
#include <vector>

#include "../src/dispatch.h"
#include "analysis.h"
#include "processor.h"
#ifdef SEMEQ_ONNX_MODEL
#include "onnx_model.h"
#endif
#include "semeq/filter_bank.h"
#include "semeq/isa.h"
#include "semeq/rbj.h"

namespace py = pybind11;

namespace {

constexpr const char* kAcceptedInput =
    "accepted: a numpy array of shape (channels, samples), or (samples,) for a 1-channel bank, "
    "with dtype float32, float64 or int16";

// Thread CPU time (the benchmark's clock: robust on a shared machine); wall clock where unavailable.
double threadCpuNs() {
#if defined(CLOCK_THREAD_CPUTIME_ID)
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
#else
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now().time_since_epoch()).count();
#endif
}

class PyFilterBank {
public:
    PyFilterBank(double sampleRate, int channels, int maxBands, double smoothingMs)
        : bank_(sampleRate, channels, maxBands, smoothingMs) {}

    // bands: a list of (type, freq, gain, q) tuples, type a lower-case name (kBandTypeNames) or its
    // code. Read with the C API into a fixed array: pybind11's conversion to a vector of tuples took 0.4
    // of its 0.66 us. Anything else is a TypeError, on which FilterBank.set_bands parses the bands
    // itself (other accepted forms, or a ValueError naming the band); out-of-range values are
    // ValueErrors from semeq::FilterBank::setBands.
    void setBands(const py::list& bands) {
        const int count = static_cast<int>(std::min<size_t>(bands.size(), INT_MAX));
        semeq::Band parsed[semeq::FilterBank::kMaxBandsLimit];
        // more bands than any bank holds: semeq::FilterBank::setBands rejects the count before reading
        const int stored = std::min(count, semeq::FilterBank::kMaxBandsLimit);
        for (int i = 0; i < stored; ++i) {
            // a number's __index__/__float__ may run Python code that shortens the list: re-check, and
            // hold the tuple (its items are then safe); stop at the first failed conversion
            if (i >= PyList_GET_SIZE(bands.ptr())) throw py::value_error("the band list changed while it was read");
            const py::object band = py::reinterpret_borrow<py::object>(PyList_GET_ITEM(bands.ptr(), i));
            if (!PyTuple_Check(band.ptr()) || PyTuple_GET_SIZE(band.ptr()) != 4)
                throw py::type_error("band " + std::to_string(i) + ": expected a (type, freq, gain, q) tuple");
            PyObject* kind = PyTuple_GET_ITEM(band.ptr(), 0);
            long type = -1;
            if (PyUnicode_Check(kind)) {
                for (int t = 0; t < semeq::kNumBandTypes && type < 0; ++t)
                    if (PyUnicode_CompareWithASCIIString(kind, semeq::kBandTypeNames[t]) == 0) type = t;
                if (type < 0) throw py::type_error("band " + std::to_string(i) + ": not a lower-case band type name");
            } else {
                // bools and codes past a long are not codes either (the Python path names the band)
                if (PyBool_Check(kind)) throw py::type_error("band " + std::to_string(i) + ": a bool is not a type code");
                type = PyLong_AsLong(kind);
                if (type == -1 && PyErr_Occurred()) {
                    if (!PyErr_ExceptionMatches(PyExc_OverflowError)) throw py::error_already_set();
                    PyErr_Clear();
                    throw py::type_error("band " + std::to_string(i) + ": type code out of range");
                }
            }
            double values[3];
            for (int k = 0; k < 3; ++k) {
                values[k] = PyFloat_AsDouble(PyTuple_GET_ITEM(band.ptr(), k + 1));
                if (values[k] == -1.0 && PyErr_Occurred()) throw py::error_already_set();
            }
            if (type < 0 || type >= semeq::kNumBandTypes)
                throw py::type_error("band " + std::to_string(i) + ": unknown band type code " + std::to_string(type));
            parsed[i] = semeq::Band{static_cast<semeq::BandType>(type), values[0], values[1], values[2]};
        }
        bank_.setBands(parsed, count);
    }

    // Fast path: float32, C-contiguous, (channels, n) or (n,) for one channel.
    void processInplace(py::array x) {
        const int64_t frames = checkFloat32(x, true);
        auto* data = static_cast<float*>(x.mutable_data());
        run(data, data, frames);
    }

    py::array process(py::array x) {
        const bool mono = x.ndim() == 1;
        if (x.ndim() != 1 && x.ndim() != 2) throw py::value_error(shapeError(x));
        py::array_t<float, py::array::c_style> in = asFloat32(x);
        const int64_t frames = checkFloat32(in, false);
        py::array_t<float> out = mono ? py::array_t<float>(frames) : py::array_t<float>({int64_t(bank_.channels()), frames});
        run(in.data(), out.mutable_data(), frames);
        return out;
    }

    semeq::FilterBank& bank() { return bank_; }

private:
    std::string shapeError(const py::array& x) const {
        std::string shape = "(";
        for (py::ssize_t i = 0; i < x.ndim(); ++i) shape += (i ? ", " : "") + std::to_string(x.shape(i));
        shape += x.ndim() == 1 ? ",)" : ")";
        return "input of shape " + shape + " does not fit this " + std::to_string(bank_.channels()) +
               "-channel bank; " + kAcceptedInput;
    }

    int64_t checkFloat32(const py::array& x, bool inplace) const {
        const int channels = bank_.channels();
        const bool shapeOk = (x.ndim() == 2 && x.shape(0) == channels) || (x.ndim() == 1 && channels == 1);
        if (inplace && (x.dtype().num() != py::detail::npy_api::NPY_FLOAT_ ||
                        !(x.flags() & py::array::c_style) || !x.writeable()))
            throw py::value_error(
                "process_inplace accepts only a writeable, C-contiguous float32 array of shape (channels, "
                "samples) (or (samples,) for a 1-channel bank); use process() for other inputs");
        if (!shapeOk) throw py::value_error(shapeError(x));
        return x.shape(x.ndim() - 1);
    }

    static py::array_t<float, py::array::c_style> asFloat32(const py::array& x) {
        const int num = x.dtype().num();
        using api = py::detail::npy_api;
        if (num == api::NPY_FLOAT_ || num == api::NPY_DOUBLE_)
            return py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(x);
        if (num == api::NPY_SHORT_) {
            // int16 PCM: scaled by 1/32768 to [-1, 1)
            auto pcm = py::array_t<int16_t, py::array::c_style | py::array::forcecast>::ensure(x);
            py::array_t<float, py::array::c_style> f(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
            const int16_t* s = pcm.data();
            float* d = f.mutable_data();
            for (py::ssize_t i = 0; i < pcm.size(); ++i) d[i] = static_cast<float>(s[i]) * (1.0f / 32768.0f);
            return f;
        }
        throw py::value_error("input dtype " + std::string(py::str(x.dtype())) + " is not supported; " +
                              kAcceptedInput);
    }

    void run(const float* in, float* out, int64_t frames) {
        const int channels = bank_.channels();
        const float* inPtr[semeq::FilterBank::kMaxChannels];
        float* outPtr[semeq::FilterBank::kMaxChannels];
        for (int c = 0; c < channels; ++c) {
            inPtr[c] = in + c * frames;
            outPtr[c] = out + c * frames;
        }
        if (busy_.exchange(true, std::memory_order_acquire))
            throw std::runtime_error("FilterBank.process called from two threads at once on the same bank");
        {
            py::gil_scoped_release release;
            bank_.process(inPtr, outPtr, frames);
        }
        busy_.store(false, std::memory_order_release);
    }

    semeq::FilterBank bank_;
    std::atomic<bool> busy_{false};
};

// FilterBank.process_inplace(x) as a plain METH_O method: it is the per-block call of a stream, and
// pybind11's generic dispatch took 60 of its 180 ns of Python overhead. Errors as before: ValueError
// for input it cannot filter in place, RuntimeError for a second thread on the same bank.
PyObject* processInplaceMethod(PyObject* self, PyObject* x) {
    try {
        if (!py::isinstance<py::array>(x))
            throw py::value_error("process_inplace accepts only a numpy array; got " +
                                  std::string(py::str(py::type::handle_of(x))));
        py::handle(self).cast<PyFilterBank&>().processInplace(py::reinterpret_borrow<py::array>(x));
        Py_RETURN_NONE;
    } catch (py::error_already_set& e) {
        e.restore();
    } catch (const py::builtin_exception& e) {
        e.set_error();
    } catch (const std::exception& e) {
        PyErr_SetString(PyExc_RuntimeError, e.what());
    }
    return nullptr;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "semeq native core (C++): RBJ designs, the SIMD filter bank and the real-time engine. Use "
              "semeq_rt.FilterBank and semeq_rt.Processor.";
    bindProcessor(m);
    bindAnalysis(m);
#ifdef SEMEQ_ONNX_MODEL
    bindOnnxModel(m);
#endif
    // std::invalid_argument from the core becomes ValueError (pybind11's standard translation).
    py::class_<PyFilterBank> cls(m, "FilterBank");
    cls.def(py::init<double, int, int, double>(), py::arg("sample_rate") = 48000.0, py::arg("channels") = 2,
             py::arg("max_bands") = 16, py::arg("smoothing_ms") = 20.0)
        .def("_set_bands", &PyFilterBank::setBands, py::arg("bands"),
             "Low-level set_bands: a list of (type code, freq Hz, gain dB, Q).")
        .def("process", &PyFilterBank::process, py::arg("x"),
             "process(x) -> numpy.ndarray\n\n"
             "Filters x and returns a new float32 array of the same shape. x: (channels, samples), or\n"
             "(samples,) for a 1-channel bank; float32, float64 (converted to float32) or int16 (scaled by\n"
             "1/32768). Stateful: consecutive calls continue the same stream, exactly as one long call.\n"
             "Non-finite samples are processed as 0. Releases the GIL while filtering.")
        .def("reset", [](PyFilterBank& self) { self.bank().reset(); },
             "reset()\n\nClears the filter state and finishes any ramp; the next set_bands applies at once.")
        .def("_response_db",
             [](PyFilterBank& self, py::array_t<double, py::array::c_style | py::array::forcecast> f) {
                 py::array_t<double> out(f.size());
                 for (py::ssize_t i = 0; i < f.size(); ++i) out.mutable_data()[i] = self.bank().responseDb(f.data()[i]);
                 return out;
             })
        .def("_applied_response_db",
             [](PyFilterBank& self, py::array_t<double, py::array::c_style | py::array::forcecast> f) {
                 py::array_t<double> out(f.size());
                 self.bank().appliedResponseDb(f.data(), out.mutable_data(), f.size());
                 return out;
             })
        .def("_target_bands",
             [](PyFilterBank& self) {
                 py::list out;
                 for (const semeq::Band& b : self.bank().targetBands())
                     out.append(py::make_tuple(static_cast<int>(b.type), b.freq, b.gainDb, b.q));
                 return out;
             })
        .def("_state",
             [](PyFilterBank& self) {
                 const semeq::FilterBank& b = self.bank();
                 py::array_t<double> out({b.channels(), b.maxBands(), 4});
                 const double* s = b.stateData();
                 for (int c = 0; c < b.channels(); ++c)
                     for (int i = 0; i < b.maxBands(); ++i)
                         for (int k = 0; k < 4; ++k)
                             out.mutable_at(c, i, k) = s[(static_cast<size_t>(c) * b.stateSlotStride() + i) * 4 + k];
                 return out;
             },
             "Copy of the direct-form-I state (channels, max_bands, 4): x1, x2, y1, y2 per slot, as stored "
             "(in the steady state scaled by the product of the b0 up to the slot), for tests.")
        .def("_kernel_layout",
             [](PyFilterBank& self) {
                 const auto l = self.bank().kernelLayout();
                 py::dict d;
                 d["channels_per_vector"] = l.channelsPerVector;
                 d["sections_per_vector"] = l.sectionsPerVector;
                 d["vectors_per_chain"] = l.vectorsPerChain;
                 d["chunks"] = l.chunks;
                 d["channel_groups"] = l.channelGroups;
                 d["groups_per_pass"] = l.groupsPerPass;
                 return d;
             },
             "The vector layout process() uses for the current bands (for benchmarks).")
        .def_property_readonly("ramping", [](PyFilterBank& self) { return self.bank().ramping(); },
                               "True while parameters move toward the last set_bands target, or a new target "
                               "has not been picked up by process() yet.")
        .def_property_readonly("sample_rate", [](PyFilterBank& self) { return self.bank().sampleRate(); })
        .def_property_readonly("channels", [](PyFilterBank& self) { return self.bank().channels(); })
        .def_property_readonly("max_bands", [](PyFilterBank& self) { return self.bank().maxBands(); })
        .def_property_readonly("smoothing_ms", [](PyFilterBank& self) { return self.bank().smoothingMs(); })
        .def_property_readonly("control_interval", [](PyFilterBank& self) { return self.bank().controlInterval(); },
                               "Samples between exact coefficient designs while ramping.");
    static PyMethodDef processInplaceDef{
        "process_inplace", processInplaceMethod, METH_O,
        "process_inplace($self, x, /)\n--\n\n"
        "Filters x in place without allocating. x must be a writeable, C-contiguous float32 array of\n"
        "shape (channels, samples) (or (samples,) for a 1-channel bank); anything else is a ValueError."};
    PyObject* processInplace = PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(cls.ptr()), &processInplaceDef);
    if (processInplace == nullptr) throw py::error_already_set();
    cls.attr("process_inplace") = py::reinterpret_steal<py::object>(processInplace);

    m.def("design",
          [](py::array_t<int> types, py::array_t<double> freqs, py::array_t<double> gains, py::array_t<double> qs,
             double sampleRate) {
              const py::ssize_t n = types.size();
              if (freqs.size() != n || gains.size() != n || qs.size() != n)
                  throw py::value_error("types, freqs, gains and qs must have the same length");
              py::array_t<double> out({n, py::ssize_t(5)});
              for (py::ssize_t i = 0; i < n; ++i) {
                  const int t = types.data()[i];
                  if (t < 0 || t >= semeq::kNumBandTypes) throw py::value_error("unknown band type code");
                  const semeq::Biquad c = semeq::rbjDesign(static_cast<semeq::BandType>(t), freqs.data()[i],
                                                           gains.data()[i], qs.data()[i], sampleRate);
                  double* row = out.mutable_data(i);
                  row[0] = c.b0, row[1] = c.b1, row[2] = c.b2, row[3] = c.a1, row[4] = c.a2;
              }
              return out;
          },
          py::arg("types"), py::arg("freqs"), py::arg("gains"), py::arg("qs"), py::arg("sample_rate"),
          "RBJ coefficients (n, 5) = (b0, b1, b2, a1, a2) of n designs (rbj.h, no validation).");
    m.def("response_db",
          [](py::array_t<double, py::array::c_style | py::array::forcecast> coefs,
             py::array_t<double, py::array::c_style | py::array::forcecast> freqs, double sampleRate) {
              if (coefs.ndim() != 2 || coefs.shape(1) != 5) throw py::value_error("coefs must have shape (n, 5)");
              py::array_t<double> out({coefs.shape(0), freqs.size()});
              for (py::ssize_t i = 0; i < coefs.shape(0); ++i) {
                  const double* c = coefs.data(i);
                  const semeq::Biquad b{c[0], c[1], c[2], c[3], c[4]};
                  for (py::ssize_t j = 0; j < freqs.size(); ++j)
                      out.mutable_at(i, j) = semeq::responseDb(b, freqs.data()[j], sampleRate);
              }
              return out;
          },
          py::arg("coefs"), py::arg("freqs"), py::arg("sample_rate"),
          "dB magnitude (n, m) of n biquads at m frequencies (rbj.h responseDb).");
    py::tuple names(semeq::kNumBandTypes);
    for (int t = 0; t < semeq::kNumBandTypes; ++t) names[t] = semeq::kBandTypeNames[t];
    m.attr("BAND_TYPE_NAMES") = names;  // by type code; eqdef.BAND_TYPES is the Python definition
    m.def("available_isas", &semeq::availableIsas, "Kernels usable on this CPU, narrowest first.");
    m.def("isa", &semeq::currentIsa, "The kernel in use.");
    m.def("set_isa", &semeq::setIsa, py::arg("name"), "Force a kernel (tests, benchmarks).");
    m.def("isa_fuses_multiply_add", &semeq::isaFusesMultiplyAdd, py::arg("name"),
          "Whether kernel `name` uses fused multiply-add; kernels that agree here give bit-identical output.");
    m.def("_chain_ns_per_step",
          [](int64_t steps, int cpv, int groups, int vectors) {
              const auto& k = semeq::detail::activeKernel();
              py::gil_scoped_release release;
              const double t0 = threadCpuNs();
              volatile double sink = k.chainRun(steps, cpv, groups, vectors);
              (void)sink;
              return (threadCpuNs() - t0) / static_cast<double>(steps);
          },
          py::arg("steps"), py::arg("cpv"), py::arg("groups"), py::arg("vectors"),
          "Thread-CPU ns per wavefront step of the bare dependency chain (no memory traffic): the ceiling.");
}
