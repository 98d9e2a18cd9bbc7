// semeq_render — the engine with the bundle's ONNX models, as a plugin runs them, over a raw audio file:
// the C++ face that tests/test_onnx_face.py holds to semeq_rt.Processor.
//
//   semeq_render BUNDLE_DIR TERM INTENSITY adaptive|static RATE CHANNELS IN OUT [BLOCK]
//
// IN and OUT: float32 samples, channel after channel (planar: CHANNELS x frames). Deterministic schedule
// (an offline render), default options, blocks of BLOCK frames (default 512).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "semeq/bundle_manifest.h"
#include "semeq/onnx_model.h"
#include "semeq/processor.h"

int main(int argc, char** argv) {
    if (argc < 9) {
        std::fprintf(stderr, "usage: semeq_render BUNDLE_DIR TERM INTENSITY adaptive|static RATE CHANNELS IN OUT [BLOCK]\n");
        return 2;
    }
    try {
        const semeq::BundleManifest manifest = semeq::BundleManifest::load(argv[1]);
        manifest.verifyModels();
        const semeq::BundleTerm& term = manifest.term(argv[2]);
        const double intensity = std::stod(argv[3]);
        const std::string mode = argv[4];
        const double rate = std::stod(argv[5]);
        const int channels = std::stoi(argv[6]);
        const int64_t block = argc > 9 ? std::stoll(argv[9]) : 512;
        if (mode != "adaptive" && mode != "static") throw std::invalid_argument("mode must be adaptive or static");
        std::ifstream in(argv[7], std::ios::binary | std::ios::ate);
        if (!in) throw std::runtime_error(std::string("cannot read ") + argv[7]);
        const auto frames = static_cast<int64_t>(in.tellg()) / static_cast<int64_t>(sizeof(float)) / channels;
        std::vector<float> audio(static_cast<size_t>(frames) * channels);
        in.seekg(0);
        in.read(reinterpret_cast<char*>(audio.data()), static_cast<std::streamsize>(audio.size() * sizeof(float)));

        semeq::ProcessorOptions options = manifest.processorOptions(rate, channels);
        options.adaptive = mode == "adaptive";
        options.loudnessCompensation = options.adaptive;  // as semeq_rt.Processor's default
        semeq::useOnnxRuntime(OrtGetApiBase());
        semeq::Processor processor(options, std::make_shared<semeq::OnnxModel>(manifest.modelFiles()), term.centroid.data(),
                                   term.spread.data(), intensity);
        std::vector<float> out(audio.size());
        std::vector<const float*> inPtr(channels);
        std::vector<float*> outPtr(channels);
        for (int64_t at = 0; at < frames; at += block) {
            const int64_t n = std::min(block, frames - at);
            for (int c = 0; c < channels; ++c) {
                inPtr[c] = audio.data() + c * frames + at;
                outPtr[c] = out.data() + c * frames + at;
            }
            processor.process(inPtr.data(), outPtr.data(), n);
        }
        std::ofstream file(argv[8], std::ios::binary);
        file.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size() * sizeof(float)));
        if (!file) throw std::runtime_error(std::string("cannot write ") + argv[8]);
        std::printf("%lld frames, %lld analyses\n", static_cast<long long>(frames),
                    static_cast<long long>(processor.analyses()));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "semeq_render: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
