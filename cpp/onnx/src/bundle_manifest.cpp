#include "semeq/bundle_manifest.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

#include "semeq/onnx_model.h"
#include "semeq/sha256.h"

namespace semeq {

namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw std::runtime_error(path + ": " + what);
}

const json& field(const std::string& path, const json& object, const char* key, const std::string& where) {
    if (!object.is_object() || !object.contains(key)) fail(path, "missing field " + where + key);
    return object.at(key);
}

std::vector<double> numbers(const std::string& path, const json& value, size_t size, const std::string& what) {
    if (!value.is_array() || value.size() != size)
        fail(path, what + " must be a list of " + std::to_string(size) + " numbers");
    std::vector<double> out;
    for (const json& v : value) {
        if (!v.is_number()) fail(path, what + " holds a value that is not a number");
        out.push_back(v.get<double>());
    }
    return out;
}

}  // namespace

BundleManifest BundleManifest::load(const std::string& folder) {
    const std::string path = folder + "/manifest.json";
    std::ifstream file(path);
    if (!file) fail(path, "cannot be read");
    json m;
    try {
        m = json::parse(file);
    } catch (const json::exception& e) {
        fail(path, std::string("is not valid JSON: ") + e.what());
    }
    BundleManifest b;
    b.folder = folder;
    try {
        b.latentDim = field(path, m, "latent_dim", "").get<int>();
        const json& audio = field(path, m, "audio", "");
        b.sampleRate = field(path, audio, "sample_rate", "audio.").get<double>();
        b.window = field(path, audio, "window", "audio.").get<int>();
        const json& reference = field(path, m, "neutral_reference", "");
        b.frameSize = field(path, reference, "n_fft", "neutral_reference.").get<int>();
        b.frameHop = field(path, reference, "frame_hop", "neutral_reference.").get<int>();
        const auto curve = numbers(path, field(path, reference, "curve_db", "neutral_reference."), eq::kGridPoints,
                                   "neutral_reference.curve_db");
        std::copy(curve.begin(), curve.end(), b.referenceDb.begin());
        for (const json& t : field(path, m, "terms", "")) {
            BundleTerm term;
            term.name = field(path, t, "name", "terms[].").get<std::string>();
            term.centroid = numbers(path, field(path, t, "centroid", "terms[]."), b.latentDim, "terms[].centroid");
            term.spread = numbers(path, field(path, t, "spread", "terms[]."), b.latentDim, "terms[].spread");
            term.count = field(path, t, "count", "terms[].").get<int>();
            b.terms.push_back(std::move(term));
        }
        const json& models = field(path, m, "models", "");
        const json& head = field(path, models, "audio_head", "models.");
        b.eqDecoderParamsOnly = models.contains("eq_decoder_params");
        const std::string decoderRole = b.eqDecoderParamsOnly ? "eq_decoder_params" : "eq_decoder";
        const json& decoder = field(path, models, decoderRole.c_str(), "models.");
        b.audioHeadFile = field(path, head, "file", "models.audio_head.").get<std::string>();
        b.audioHeadSha256 = field(path, head, "sha256", "models.audio_head.").get<std::string>();
        b.eqDecoderFile = field(path, decoder, "file", "models." + decoderRole + ".").get<std::string>();
        b.eqDecoderSha256 = field(path, decoder, "sha256", "models." + decoderRole + ".").get<std::string>();
    } catch (const json::exception& e) {
        fail(path, std::string("a field has the wrong type: ") + e.what());
    }
    if (b.latentDim < 2 || b.latentDim > kMaxLatentDim || b.sampleRate <= 0 || b.window < 1 || b.frameSize < 4 ||
        b.frameHop < 1 || b.terms.empty())
        fail(path, "latent_dim, audio or neutral_reference out of range, or no terms");
    return b;
}

void BundleManifest::verifyModels() const {
    const std::pair<std::string, std::string> models[] = {{audioHeadFile, audioHeadSha256},
                                                          {eqDecoderFile, eqDecoderSha256}};
    for (const auto& [file, expected] : models) {
        const std::string path = folder + "/" + file;
        if (sha256File(path) != expected)
            throw std::runtime_error(path + ": its SHA-256 differs from the manifest's (an edited or damaged bundle)");
    }
}

OnnxModelFiles BundleManifest::modelFiles() const {
    return {folder + "/" + audioHeadFile, folder + "/" + eqDecoderFile, eqDecoderParamsOnly, latentDim};
}

const BundleTerm& BundleManifest::term(const std::string& name) const {
    for (const BundleTerm& t : terms)
        if (t.name == name) return t;
    std::string known;
    for (size_t i = 0; i < terms.size() && i < 12; ++i) known += (i ? ", " : "") + terms[i].name;
    throw std::invalid_argument("unknown term '" + name + "'; known terms include " + known);
}

ProcessorOptions BundleManifest::processorOptions(double rate, int channels) const {
    ProcessorOptions o;
    o.sampleRate = rate;
    o.channels = channels;
    o.modelSampleRate = sampleRate;
    o.modelWindow = window;
    o.frameSize = frameSize;
    o.frameHop = frameHop;
    o.frameSampleRate = sampleRate;
    o.referenceDb = referenceDb;
    return o;
}

}  // namespace semeq
