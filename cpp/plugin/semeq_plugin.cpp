// The semeq plugin (DPF: VST3, LV2 and CLAP; stereo, or mono with SEMEQ_MONO): semeq::Processor with the bundle's models through ONNX Runtime's
// C++ API (semeq::OnnxModel), the ONNX bundle inside the plugin bundle (semeq-bundle/).
//
// Parameters (their symbols are the contract, docs/plugin-integration.md): term (the words in
// semeq_rt.terms() order, compiled in from the bundle: semeq_terms.h), intensity (-1..1), mode
// (0 adaptive, 1 static), adaptation (s), loudness (compensation on/off), render (0 live: analyses on the
// engine's thread; 1 exact: analyses inside the audio callback at fixed positions, the output of
// semeq_rt.Processor(realtime=False) — DPF 1.6 does not tell a plugin when the host renders offline).
//
// Threads: DPF calls setParameterValue on the audio thread; the engine's setters call the model, so the
// audio thread only stores the values (atomics) and a control thread of the plugin applies them.
#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "DistrhoPlugin.hpp"
#include "DistrhoPluginUtils.hpp"
#include "semeq/bundle_manifest.h"
#include "semeq/onnx_model.h"
#include "semeq/processor.h"
#include "semeq_terms.h"  // kTerms, kTermCount: generated from the bundle's manifest

START_NAMESPACE_DISTRHO

namespace {

enum Parameters : uint32_t { kTerm, kIntensity, kMode, kAdaptation, kLoudness, kRender, kParameterCount };
constexpr int kChannels = DISTRHO_PLUGIN_NUM_INPUTS;

struct Spec {
    const char* name;
    const char* symbol;
    float low, high, def;
    uint32_t hints;
};
constexpr Spec kSpecs[kParameterCount] = {
    {"Term", "term", 0.0f, float(kTermCount - 1), 0.0f, kParameterIsAutomatable | kParameterIsInteger},
    {"Intensity", "intensity", -1.0f, 1.0f, 0.7f, kParameterIsAutomatable},
    {"Mode", "mode", 0.0f, 1.0f, 0.0f, kParameterIsAutomatable | kParameterIsInteger},
    {"Adaptation", "adaptation", 0.5f, 60.0f, 8.0f, kParameterIsAutomatable},  // seconds
    {"Loudness", "loudness", 0.0f, 1.0f, 1.0f, kParameterIsAutomatable | kParameterIsBoolean},
    {"Render", "render", 0.0f, 1.0f, 0.0f, kParameterIsInteger},
};

}  // namespace

class SemeqPlugin : public Plugin {
public:
    SemeqPlugin() : Plugin(kParameterCount, 0, 0) {
        for (uint32_t i = 0; i < kParameterCount; ++i) values_[i].store(kSpecs[i].def);
        if (isDummyInstance()) return;
        const std::string folder = modelFolder(getBundlePath() != nullptr ? getBundlePath() : ".");
        try {
            manifest_ = std::make_unique<semeq::BundleManifest>(semeq::BundleManifest::load(folder));
            for (uint32_t t = 0; t < kTermCount; ++t) manifest_->term(kTerms[t]);  // every word is in the bundle
            manifest_->verifyModels();
            semeq::useOnnxRuntime(OrtGetApiBase());
            model_ = std::make_shared<semeq::OnnxModel>(manifest_->modelFiles());
        } catch (const std::exception& e) {
            d_stderr2("semeq: the models could not be loaded (%s); audio passes through unchanged", e.what());
            manifest_.reset();
            model_.reset();
        }
    }

    ~SemeqPlugin() override { stopEngine(); }

protected:
    const char* getLabel() const override { return "semeq"; }
    const char* getDescription() const override {
        return "Semantic EQ: name a sound (warm, bright, airy ...) and the EQ moves this audio toward it.";
    }
    const char* getMaker() const override { return "semeq"; }
    const char* getLicense() const override { return "GPL-2.0-or-later"; }
    uint32_t getVersion() const override { return d_version(0, 1, 0); }
    int64_t getUniqueId() const override {
        return kChannels == 1 ? d_cconst('s', 'm', 'E', 'm') : d_cconst('s', 'm', 'E', 'q');
    }

    void initParameter(uint32_t index, Parameter& p) override {
        const Spec& s = kSpecs[index];
        p.hints = s.hints;
        p.name = s.name;
        p.symbol = s.symbol;
        p.ranges.min = s.low;
        p.ranges.max = s.high;
        p.ranges.def = s.def;
        if (index == kTerm || index == kMode || index == kRender) {
            const char* const modes[] = {"adaptive", "static"};
            const char* const renders[] = {"live", "exact"};
            const uint32_t count = index == kTerm ? kTermCount : 2;
            p.enumValues.count = count;
            p.enumValues.restrictedMode = true;
            p.enumValues.values = new ParameterEnumerationValue[count];
            for (uint32_t v = 0; v < count; ++v) {
                p.enumValues.values[v].value = float(v);
                p.enumValues.values[v].label = index == kTerm ? kTerms[v] : index == kMode ? modes[v] : renders[v];
            }
        }
    }

    float getParameterValue(uint32_t index) const override { return values_[index].load(); }

    // audio thread (VST3, CLAP) or any: only stores the value; the control thread applies it
    void setParameterValue(uint32_t index, float value) override {
        values_[index].store(value);
        changed_.store(true);
    }

    void activate() override { startEngine(getSampleRate()); }
    void deactivate() override { stopEngine(); }

    void run(const float** inputs, float** outputs, uint32_t frames) override {
        semeq::Processor* engine = engine_.get();
        if (engine == nullptr || !ready_.load(std::memory_order_acquire)) {
            for (int c = 0; c < kChannels; ++c)
                if (outputs[c] != inputs[c]) std::copy(inputs[c], inputs[c] + frames, outputs[c]);
            return;
        }
        // exact (offline) render: changes apply here, at this block's start, so the output depends only on
        // the audio and the parameters; live: the control thread applies them
        if (values_[kRender].load() >= 0.5f && changed_.exchange(false)) applyChanges();
        engine->process(inputs, outputs, frames);
    }

private:
    // the ONNX bundle: in the VST3's or LV2's resources, or for a CLAP (one file) in semeq-resources/ beside it
    static std::string modelFolder(const std::string& bundle) {
        const std::string clap = ".clap";
        if (bundle.size() > clap.size() && bundle.compare(bundle.size() - clap.size(), clap.size(), clap) == 0)
            return bundle.substr(0, bundle.find_last_of('/') + 1) + "semeq-resources/semeq-bundle";
        const char* resources = getResourcePath(bundle.c_str());
        return std::string(resources != nullptr ? resources : bundle.c_str()) + "/semeq-bundle";
    }

    const semeq::BundleTerm& term() const {
        const auto index = static_cast<uint32_t>(std::lround(values_[kTerm].load()));
        return manifest_->term(kTerms[index < kTermCount ? index : 0]);
    }

    void startEngine(double rate) {
        stopEngine();
        if (!model_) return;
        semeq::ProcessorOptions o = manifest_->processorOptions(rate, kChannels);
        o.adaptationTime = values_[kAdaptation].load();
        o.loudnessCompensation = values_[kLoudness].load() >= 0.5f;
        o.realtime = values_[kRender].load() < 0.5f;
        const semeq::BundleTerm& t = term();
        engine_ = std::make_unique<semeq::Processor>(o, model_, t.centroid.data(), t.spread.data(),
                                                     values_[kIntensity].load());
        engine_->setAdaptive(values_[kMode].load() < 0.5f);
        for (uint32_t i = 0; i < kParameterCount; ++i) applied_[i] = values_[i].load();
        stop_.store(false);
        control_ = std::thread([this] { controlLoop(); });
        ready_.store(true, std::memory_order_release);
    }

    void stopEngine() {
        ready_.store(false);
        stop_.store(true);
        if (control_.joinable()) control_.join();
        engine_.reset();
    }

    // Live render: applies parameter changes to the engine (its setters call the model: not on the audio
    // thread).
    void controlLoop() {
        while (!stop_.load()) {
            if (values_[kRender].load() >= 0.5f || !changed_.exchange(false)) {
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
                continue;
            }
            applyChanges();
        }
    }

    void applyChanges() {
        std::lock_guard<std::mutex> lock(applyMutex_);
        for (uint32_t i = 0; i < kParameterCount; ++i) {
            const float v = values_[i].load();
            if (v == applied_[i]) continue;
            applied_[i] = v;
            try {
                switch (i) {
                    case kTerm: engine_->setTarget(term().centroid.data(), term().spread.data()); break;
                    case kIntensity: engine_->setIntensity(std::fmax(-1.0f, std::fmin(1.0f, v))); break;
                    case kMode: engine_->setAdaptive(v < 0.5f); break;
                    case kAdaptation: engine_->setAdaptationTime(std::fmax(0.5f, v)); break;
                    case kLoudness: engine_->setLoudnessCompensation(v >= 0.5f); break;
                    case kRender: engine_->setRealtime(v < 0.5f); break;
                    default: break;
                }
            } catch (const std::exception& e) {
                d_stderr2("semeq: parameter %u: %s", i, e.what());
            }
        }
    }

    std::unique_ptr<semeq::BundleManifest> manifest_;
    std::shared_ptr<semeq::OnnxModel> model_;
    std::unique_ptr<semeq::Processor> engine_;
    std::atomic<float> values_[kParameterCount];
    float applied_[kParameterCount] = {};
    std::atomic<bool> changed_{false}, ready_{false}, stop_{false};
    std::mutex applyMutex_;  // the control thread (live) or the audio thread (exact render)
    std::thread control_;

    DISTRHO_DECLARE_NON_COPYABLE_WITH_LEAK_DETECTOR(SemeqPlugin)
};

Plugin* createPlugin() { return new SemeqPlugin(); }

END_NAMESPACE_DISTRHO
