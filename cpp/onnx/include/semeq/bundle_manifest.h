// semeq::BundleManifest — what the engine and its ONNX model need from a bundle's manifest.json
// (docs/bundle.md): the latent size, the analysis definition, the words, and the model files.
// The C++ reader of the format that python/semeq_rt/bundle.py validates in full.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "semeq/eq_layout.h"
#include "semeq/processor.h"

namespace semeq {

struct OnnxModelFiles;  // semeq/onnx_model.h

struct BundleTerm {
    std::string name;
    std::vector<double> centroid, spread;
    int count = 0;
};

struct BundleManifest {
    std::string folder;
    int latentDim = 0;
    double sampleRate = 0.0;  // audio.sample_rate
    int window = 0;           // audio.window
    int frameSize = 0, frameHop = 0;  // neutral_reference.n_fft, frame_hop
    std::array<double, eq::kGridPoints> referenceDb{};
    std::vector<BundleTerm> terms;  // in the manifest's order
    std::string audioHeadFile, eqDecoderFile;
    std::string audioHeadSha256, eqDecoderSha256;  // the files' SHA-256 (hex) as the manifest records them
    // eqDecoderFile is the settings-only eq_decoder_params where the bundle has it (a quarter of the
    // time), else eq_decoder, whose second output (the response) the engine does not read
    bool eqDecoderParamsOnly = false;

    // Reads folder/manifest.json; std::runtime_error naming the file and the field on anything missing
    // or malformed.
    static BundleManifest load(const std::string& folder);
    // Checks the two models the engine uses against the manifest's SHA-256; std::runtime_error naming the
    // file that differs (an edited or damaged bundle).
    void verifyModels() const;
    // The paths of the two models the engine uses (semeq::OnnxModel).
    OnnxModelFiles modelFiles() const;
    // The term called `name`; std::invalid_argument listing a few known ones otherwise.
    const BundleTerm& term(const std::string& name) const;
    // The engine's options for this bundle's analysis at `sampleRate` / `channels` (the rest default).
    ProcessorOptions processorOptions(double sampleRate, int channels) const;
};

}  // namespace semeq
