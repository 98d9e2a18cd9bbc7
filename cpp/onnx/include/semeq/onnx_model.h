// semeq::OnnxModel — the engine's model (semeq::AnalysisModel) over ONNX Runtime's C++ API: the bundle's
// audio_head.onnx (balance -> latent) and eq_decoder_params.onnx (latents -> settings; eq_decoder.onnx in a
// bundle without it). What a plugin gives the
// engine; semeq_rt.Processor gives it the same models through ONNX Runtime's Python API.
//
// Sessions are created at construction with one intra- and one inter-op thread, sequential execution and
// all graph optimisations; input and output tensors wrap buffers allocated once. Calls from several
// threads are serialised by a mutex (the engine calls from its analysis thread and from control calls).
#pragma once

#include <onnxruntime_cxx_api.h>

#include <memory>
#include <mutex>
#include <vector>

#include "semeq/analysis_model.h"
#include "semeq/bundle_manifest.h"

namespace semeq {

class OnnxModel final : public AnalysisModel {
public:
    explicit OnnxModel(const BundleManifest& manifest);

    int latentDim() const override { return dim_; }
    void measure(const double* balanceDb, const double* previous, double* latent) override;
    void decode(const double* latents, int count, double* params) override;

private:
    static Ort::Env& env();
    int dim_;
    Ort::Session head_, decoder_;
    int decoderOutputs_;  // 1: params (eq_decoder_params); 2: params and the response (eq_decoder)
    std::mutex mutex_;
    std::vector<float> balance_, headLatent_;
    // decoder I/O for batch 1 and batch 2 (the engine's two calls)
    std::vector<float> latents_[2], params_[2], responses_[2];
};

}  // namespace semeq
