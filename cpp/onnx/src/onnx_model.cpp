#include "semeq/onnx_model.h"

#include <algorithm>
#include <stdexcept>

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

Ort::Env& OnnxModel::env() {
    static Ort::Env e(ORT_LOGGING_LEVEL_WARNING, "semeq");
    return e;
}

OnnxModel::OnnxModel(const BundleManifest& manifest)
    : dim_(manifest.latentDim),
      head_(env(), (manifest.folder + "/" + manifest.audioHeadFile).c_str(), sessionOptions()),
      decoder_(env(), (manifest.folder + "/" + manifest.eqDecoderFile).c_str(), sessionOptions()),
      decoderOutputs_(manifest.eqDecoderParamsOnly ? 1 : 2),
      balance_(eq::kGridPoints),
      headLatent_(dim_) {
    for (int b = 0; b < 2; ++b) {
        latents_[b].assign(static_cast<size_t>(b + 1) * dim_, 0.0f);
        params_[b].assign(static_cast<size_t>(b + 1) * eq::kNumParams, 0.0f);
        responses_[b].assign(static_cast<size_t>(b + 1) * eq::kGridPoints, 0.0f);
    }
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
