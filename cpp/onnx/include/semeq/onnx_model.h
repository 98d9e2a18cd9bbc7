// semeq::OnnxModel — the engine's model (semeq::AnalysisModel) over ONNX Runtime's C++ API: a bundle's
// audio_head.onnx (balance -> latent) and eq_decoder_params.onnx (latents -> settings; eq_decoder.onnx in a
// bundle without it). What the plugins and semeq_render give the engine, and what semeq_rt.Processor gives
// it where the extension was built with ONNX Runtime's headers (its analysis thread then runs without
// Python); otherwise the Python face gives the same models through ONNX Runtime's Python API.
//
// ONNX Runtime's API is set once per process, before the first OnnxModel, by useOnnxRuntime() with the
// OrtGetApiBase of the library in use (ORT_API_MANUAL_INIT, a compile definition of this target), so that
// a binary which loads the library at run time — the Python extension, which finds it in the onnxruntime
// wheel — need not link it. The headers' API version must be one the library provides (the C API is
// backward compatible: Debian 13's headers, version 21, with the wheel's 1.31 library).
//
// Sessions are created at construction with one intra- and one inter-op thread, sequential execution and
// all graph optimisations; input and output tensors wrap buffers allocated once. Calls from several
// threads are serialised by a mutex (the engine calls from its analysis thread and from control calls).
#pragma once

#include <onnxruntime_cxx_api.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "semeq/analysis_model.h"

namespace semeq {

// Sets ONNX Runtime's API for this process from `base` (the first call decides; later calls with another
// library are ignored). std::runtime_error if the library does not provide the headers' API version.
void useOnnxRuntime(const OrtApiBase* base);

// The two models' paths and what the engine needs to know of them.
struct OnnxModelFiles {
    std::string audioHead, eqDecoder;
    bool eqDecoderParamsOnly = false;  // eqDecoder is eq_decoder_params (one output), else eq_decoder (two)
    int latentDim = 0;
};

class OnnxModel final : public AnalysisModel {
public:
    // std::logic_error before useOnnxRuntime(); Ort::Exception for a file ONNX Runtime cannot load.
    explicit OnnxModel(const OnnxModelFiles& files);

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
