// semeq_rt._core.OnnxModel: the engine's model over ONNX Runtime's C API (semeq::OnnxModel), with the
// library loaded at run time from the path Python gives (the onnxruntime wheel's libonnxruntime.so.1.*),
// so that the extension links no ONNX Runtime and imports wherever the wheel has none. A Processor given
// it runs its analyses without Python: the analysis thread never takes the GIL (semeq_rt.native_model).
#include "onnx_model.h"

#include <dlfcn.h>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "semeq/onnx_model.h"

namespace py = pybind11;

namespace {

// dlopen `library` once per process (it stays loaded: sessions and the environment live until exit) and
// set ONNX Runtime's API from it. A later call with another path keeps the first library.
void loadOnnxRuntime(const std::string& library) {
    static std::mutex mutex;
    static void* handle = nullptr;
    std::lock_guard<std::mutex> lock(mutex);
    if (handle == nullptr) {
        void* h = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (h == nullptr) throw std::runtime_error("cannot load ONNX Runtime from " + library + ": " + dlerror());
        using GetApiBase = const OrtApiBase* (*)();
        auto getApiBase = reinterpret_cast<GetApiBase>(dlsym(h, "OrtGetApiBase"));
        if (getApiBase == nullptr) {
            dlclose(h);
            throw std::runtime_error(library + " is not ONNX Runtime's library (no OrtGetApiBase)");
        }
        semeq::useOnnxRuntime(getApiBase());
        handle = h;
    }
}

}  // namespace

void bindOnnxModel(py::module_& m) {
    py::class_<semeq::OnnxModel, semeq::AnalysisModel, std::shared_ptr<semeq::OnnxModel>>(
        m, "OnnxModel",
        "OnnxModel(library, audio_head, eq_decoder, params_only, latent_dim)\n\n"
        "The bundle's audio head and settings decoder in ONNX Runtime (one thread each), loaded from the\n"
        "ONNX Runtime library at `library`. RuntimeError if it cannot be loaded or lacks the C API version\n"
        "the extension was built with.")
        .def(py::init([](const std::string& library, const std::string& audioHead, const std::string& eqDecoder,
                         bool paramsOnly, int latentDim) {
                 loadOnnxRuntime(library);
                 py::gil_scoped_release release;
                 try {
                     return std::make_shared<semeq::OnnxModel>(
                         semeq::OnnxModelFiles{audioHead, eqDecoder, paramsOnly, latentDim});
                 } catch (const Ort::Exception& e) {
                     throw std::runtime_error(std::string("ONNX Runtime: ") + e.what());
                 }
             }),
             py::arg("library"), py::arg("audio_head"), py::arg("eq_decoder"), py::arg("params_only"),
             py::arg("latent_dim"));
}
