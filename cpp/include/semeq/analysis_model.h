// semeq::AnalysisModel — what the engine asks of the semantic models: the latent of a tonal balance,
// and the EQ settings that latents decode to. The engine has no dependency on ONNX Runtime or Python:
// the Python binding implements this with the bundle's ONNX Runtime sessions, a plugin with ONNX
// Runtime's C++ API (docs/ARCHITECTURE.md).
//
// Threads: the engine calls it from the thread that runs an analysis (the audio thread in the
// deterministic schedule, its analysis thread in the realtime one) and from control calls
// (Processor::setTarget, setIntensity), never two calls at once from one Processor's analysis and its
// control thread without the Processor's control lock; an implementation shared between Processors
// must be safe to call from several threads. Exceptions propagate out of the engine call that made them
// (in the realtime schedule the analysis is dropped).
#pragma once

namespace semeq {

class AnalysisModel {
public:
    virtual ~AnalysisModel() = default;
    // Dimension of the latent space (at most Processor::kMaxLatentDim).
    virtual int latentDim() const = 0;
    // The latent of a tonal balance (dB on the response grid, eq::kGridPoints values), into `latent`.
    // `previous`: the last latent measured on this stream (nullptr before the first), for models that
    // refine a solution from one analysis to the next.
    virtual void measure(const double* balanceDb, const double* previous, double* latent) = 0;
    // `count` latents (row-major, count x latentDim) -> their 13-parameter EQ settings (count x 13).
    virtual void decode(const double* latents, int count, double* params) = 0;
};

}  // namespace semeq
