#include "semeq/onnx_model.h"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

#include "semeq/correction.h"  // kMaxLatentDim
#include "semeq/eq_layout.h"

namespace semeq {

namespace {

Ort::SessionOptions sessionOptions() {
    Ort::SessionOptions o;
    o.SetIntraOpNumThreads(1);
    o.SetInterOpNumThreads(1);
    o.SetExecutionMode(ExecutionMode::ORT_SEQUENTIAL);
    o.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
    return o;
}

Ort::Value tensor(std::vector<float>& data, int64_t rows, int64_t columns) {
    static const Ort::MemoryInfo memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    const int64_t shape[2] = {rows, columns};
    return Ort::Value::CreateTensor<float>(memory, data.data(), data.size(), shape, 2);
}

}  // namespace

void useOnnxRuntime(const OrtApiBase* base) {
    static std::mutex once;
    std::lock_guard<std::mutex> lock(once);
    if (Ort::Global<void>::api_ != nullptr) return;
    const OrtApi* api = base != nullptr ? base->GetApi(ORT_API_VERSION) : nullptr;
    if (api == nullptr)
        throw std::runtime_error(std::string("this ONNX Runtime (") + (base ? base->GetVersionString() : "none") +
                                 ") does not provide the C API version " + std::to_string(ORT_API_VERSION) +
                                 " that semeq was built with");
    Ort::InitApi(api);
}

Ort::Env& OnnxModel::env() {
    static Ort::Env e(ORT_LOGGING_LEVEL_WARNING, "semeq");
    return e;
}

namespace {
// (the first member's initialiser: before the sessions, which need the API)
const OnnxModelFiles& requireApi(const OnnxModelFiles& files) {
    if (Ort::Global<void>::api_ == nullptr)
        throw std::logic_error("semeq::useOnnxRuntime() must be called before the first OnnxModel");
    return files;
}
}  // namespace

OnnxModel::OnnxModel(const OnnxModelFiles& files)
    : dim_(requireApi(files).latentDim),
      head_(env(), files.audioHead.c_str(), sessionOptions()),
      decoder_(env(), files.eqDecoder.c_str(), sessionOptions()),
      decoderOutputs_(files.eqDecoderParamsOnly ? 1 : 2),
      balance_(eq::kGridPoints),
      headLatent_(dim_) {
    for (int b = 0; b < 2; ++b) {
        latents_[b].assign(static_cast<size_t>(b + 1) * dim_, 0.0f);
        params_[b].assign(static_cast<size_t>(b + 1) * eq::kNumParams, 0.0f);
        responses_[b].assign(static_cast<size_t>(b + 1) * eq::kGridPoints, 0.0f);
    }
    // ONNX Runtime allocates on a session's first run at a batch size: the engine's calls (one balance, one
    // and two latents) run here first, not in the stream's first analysis
    std::array<double, eq::kGridPoints> balance{};
    std::array<double, 2 * kMaxLatentDim> latents{};
    std::array<double, 2 * eq::kNumParams> params{};
    measure(balance.data(), nullptr, latents.data());
    decode(latents.data(), 1, params.data());
    decode(latents.data(), 2, params.data());
}

void OnnxModel::measure(const double* balanceDb, const double*, double* latent) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::transform(balanceDb, balanceDb + eq::kGridPoints, balance_.begin(), [](double v) { return float(v); });
    Ort::Value in = tensor(balance_, 1, eq::kGridPoints);
    Ort::Value out = tensor(headLatent_, 1, dim_);
    const char* inNames[] = {"balance_db"};
    const char* outNames[] = {"latent"};
    head_.Run(Ort::RunOptions{nullptr}, inNames, &in, 1, outNames, &out, 1);
    std::copy(headLatent_.begin(), headLatent_.end(), latent);
}

void OnnxModel::decode(const double* latents, int count, double* params) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int first = 0; first < count; first += 2) {
        const int rows = std::min(2, count - first), b = rows - 1;
        std::transform(latents + first * dim_, latents + (first + rows) * dim_, latents_[b].begin(),
                       [](double v) { return float(v); });
        Ort::Value in = tensor(latents_[b], rows, dim_);
        Ort::Value outs[2] = {tensor(params_[b], rows, eq::kNumParams), tensor(responses_[b], rows, eq::kGridPoints)};
        const char* inNames[] = {"latent"};
        const char* outNames[] = {"params", "response_db"};
        decoder_.Run(Ort::RunOptions{nullptr}, inNames, &in, 1, outNames, outs, decoderOutputs_);
        std::copy(params_[b].begin(), params_[b].end(), params + first * eq::kNumParams);
    }
}

}  // namespace semeq
