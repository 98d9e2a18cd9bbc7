// semeq_clap_host — a small CLAP host for the plugin's tests: loads a .clap, sets parameters by name,
// renders a raw float32 file through the CLAP API, and counts the allocations and the blocking calls
// (mutex locks, condition waits, sleeps, yields, semaphore waits) made on the audio thread inside the
// plugin's process(): those functions are interposed here, for the whole process.
//
//   semeq_clap_host PLUGIN.clap RATE CHANNELS BLOCK IN OUT [--pace=X] [NAME=VALUE ...] [@SECONDS:NAME=VALUE ...]
//
// IN and OUT: float32, channel after channel (planar). NAME=VALUE sets a parameter (by its name, case
// ignored) in the first block; @SECONDS:NAME=VALUE sends it as an event at that time (automation).
// --pace=X: blocks no faster than X times real time (as a live host, leaving the plugin's threads time).
// Prints one line: "allocations_in_process N blocking_calls_in_process B blocks M".
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "entry.h"
#include "ext/params.h"
#include "plugin-factory.h"
#include "process.h"

// ------------------------------------------------------------------------------------------------
// allocation counting: only on the thread that is inside the plugin's process()

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
}

namespace {
thread_local bool tInProcess = false;
std::atomic<long> gAllocations{0}, gBlocking{0};
inline void count() {
    if (tInProcess) gAllocations.fetch_add(1, std::memory_order_relaxed);
}
inline void countBlocking() {
    if (tInProcess) gBlocking.fetch_add(1, std::memory_order_relaxed);
}

// calls that can block the audio thread, interposed like malloc (the real ones found once, at start-up)
template <typename F>
F real(const char* name) {
    return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}
using MutexFn = int (*)(pthread_mutex_t*);
using CondWaitFn = int (*)(pthread_cond_t*, pthread_mutex_t*);
using CondTimedFn = int (*)(pthread_cond_t*, pthread_mutex_t*, const struct timespec*);
using SleepFn = int (*)(const struct timespec*, struct timespec*);
using ClockSleepFn = int (*)(clockid_t, int, const struct timespec*, struct timespec*);
using YieldFn = int (*)();
using SemFn = int (*)(sem_t*);
MutexFn gLock;
CondWaitFn gCondWait;
CondTimedFn gCondTimed;
SleepFn gSleep;
ClockSleepFn gClockSleep;
YieldFn gYield;
SemFn gSemWait;
__attribute__((constructor)) void findRealFunctions() {
    gLock = real<MutexFn>("pthread_mutex_lock");
    gCondWait = real<CondWaitFn>("pthread_cond_wait");
    gCondTimed = real<CondTimedFn>("pthread_cond_timedwait");
    gSleep = real<SleepFn>("nanosleep");
    gClockSleep = real<ClockSleepFn>("clock_nanosleep");
    gYield = real<YieldFn>("sched_yield");
    gSemWait = real<SemFn>("sem_wait");
}
}  // namespace

extern "C" {
int pthread_mutex_lock(pthread_mutex_t* m) {
    countBlocking();
    return gLock(m);
}
int pthread_cond_wait(pthread_cond_t* c, pthread_mutex_t* m) {
    countBlocking();
    return gCondWait(c, m);
}
int pthread_cond_timedwait(pthread_cond_t* c, pthread_mutex_t* m, const struct timespec* t) {
    countBlocking();
    return gCondTimed(c, m, t);
}
int nanosleep(const struct timespec* t, struct timespec* rest) {
    countBlocking();
    return gSleep(t, rest);
}
int clock_nanosleep(clockid_t clock, int flags, const struct timespec* t, struct timespec* rest) {
    countBlocking();
    return gClockSleep(clock, flags, t, rest);
}
int sched_yield() {
    countBlocking();
    return gYield();
}
int sem_wait(sem_t* s) {
    countBlocking();
    return gSemWait(s);
}
}

extern "C" {
void* malloc(size_t n) {
    count();
    return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
    count();
    return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
    count();
    return __libc_realloc(p, n);
}
void* memalign(size_t alignment, size_t n) {
    count();
    return __libc_memalign(alignment, n);
}
void* aligned_alloc(size_t alignment, size_t n) {
    count();
    return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, size_t alignment, size_t n) {
    count();
    *out = __libc_memalign(alignment, n);
    return *out ? 0 : 12;  // ENOMEM
}
}

namespace {

// ------------------------------------------------------------------------------------------------
// host and event list

const void* hostExtension(const clap_host_t*, const char*) { return nullptr; }
void hostRequest(const clap_host_t*) {}
const clap_host_t kHost = {CLAP_VERSION, nullptr, "semeq_clap_host", "semeq", "", "1.0",
                           hostExtension, hostRequest, hostRequest, hostRequest};

struct Events {
    std::vector<clap_event_param_value_t> list;
    static uint32_t size(const clap_input_events_t* e) {
        return static_cast<uint32_t>(static_cast<const Events*>(e->ctx)->list.size());
    }
    static const clap_event_header_t* get(const clap_input_events_t* e, uint32_t i) {
        return &static_cast<const Events*>(e->ctx)->list[i].header;
    }
};
bool tryPush(const clap_output_events_t*, const clap_event_header_t*) { return true; }

clap_event_param_value_t paramEvent(clap_id id, double value) {
    clap_event_param_value_t e{};
    e.header = {sizeof(e), 0, CLAP_CORE_EVENT_SPACE_ID, CLAP_EVENT_PARAM_VALUE, 0};
    e.param_id = id;
    e.note_id = -1, e.port_index = -1, e.channel = -1, e.key = -1;
    e.value = value;
    return e;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

struct Automation {
    int64_t frame;
    clap_id id;
    double value;
};

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "semeq_clap_host: error: %s\n", what.c_str());
    std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 7) fail("usage: semeq_clap_host PLUGIN.clap RATE CHANNELS BLOCK IN OUT [NAME=VALUE ...]");
    const double rate = std::atof(argv[2]);
    const int channels = std::atoi(argv[3]);
    const auto block = static_cast<uint32_t>(std::atoi(argv[4]));

    void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) fail(std::string("cannot load ") + argv[1] + ": " + dlerror());
    const auto* entry = static_cast<const clap_plugin_entry_t*>(dlsym(library, "clap_entry"));
    if (entry == nullptr || !entry->init(argv[1])) fail("no clap_entry, or its init failed");
    const auto* factory = static_cast<const clap_plugin_factory_t*>(entry->get_factory(CLAP_PLUGIN_FACTORY_ID));
    if (factory == nullptr || factory->get_plugin_count(factory) < 1) fail("no plugin factory");
    const clap_plugin_descriptor_t* descriptor = factory->get_plugin_descriptor(factory, 0);
    const clap_plugin_t* plugin = factory->create_plugin(factory, &kHost, descriptor->id);
    if (plugin == nullptr || !plugin->init(plugin)) fail("the plugin could not be created");
    const auto* params = static_cast<const clap_plugin_params_t*>(plugin->get_extension(plugin, CLAP_EXT_PARAMS));
    if (params == nullptr) fail("the plugin has no parameters extension");

    auto paramId = [&](const std::string& name) {
        for (uint32_t i = 0; i < params->count(plugin); ++i) {
            clap_param_info_t info{};
            params->get_info(plugin, i, &info);
            if (lower(info.name) == lower(name)) return info.id;
        }
        fail("no parameter named " + name);
    };

    // the audio
    std::ifstream in(argv[5], std::ios::binary | std::ios::ate);
    if (!in) fail(std::string("cannot read ") + argv[5]);
    const int64_t frames = static_cast<int64_t>(in.tellg()) / int64_t(sizeof(float)) / channels;
    std::vector<float> audio(static_cast<size_t>(frames) * channels), out(audio.size());
    in.seekg(0);
    in.read(reinterpret_cast<char*>(audio.data()), static_cast<std::streamsize>(audio.size() * sizeof(float)));

    Events events;
    std::vector<Automation> automation;
    double pace = 0.0;
    for (int a = 7; a < argc; ++a) {
        std::string arg = argv[a];
        if (arg.rfind("--pace=", 0) == 0) {
            pace = std::atof(arg.c_str() + 7);
            continue;
        }
        int64_t at = 0;
        if (arg[0] == '@') {
            const size_t colon = arg.find(':');
            at = static_cast<int64_t>(std::atof(arg.substr(1, colon - 1).c_str()) * rate);
            arg = arg.substr(colon + 1);
        }
        const size_t eq = arg.find('=');
        if (eq == std::string::npos) fail("a parameter is NAME=VALUE: " + arg);
        automation.push_back({at, paramId(arg.substr(0, eq)), std::atof(arg.substr(eq + 1).c_str())});
    }
    events.list.reserve(automation.size());

    if (!plugin->activate(plugin, rate, 1, block) || !plugin->start_processing(plugin)) fail("activation failed");
    const clap_input_events_t inEvents = {&events, Events::size, Events::get};
    const clap_output_events_t outEvents = {nullptr, tryPush};
    std::vector<float*> inPtr(channels), outPtr(channels);
    clap_audio_buffer_t inBuffer{}, outBuffer{};
    inBuffer.channel_count = outBuffer.channel_count = static_cast<uint32_t>(channels);
    long blocks = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int64_t at = 0; at < frames; at += block) {
        if (pace > 0.0)
            std::this_thread::sleep_until(start + std::chrono::duration<double>(at / rate / pace));
        const auto n = static_cast<uint32_t>(std::min<int64_t>(block, frames - at));
        for (int c = 0; c < channels; ++c) {
            inPtr[c] = audio.data() + c * frames + at;
            outPtr[c] = out.data() + c * frames + at;
        }
        inBuffer.data32 = inPtr.data();
        outBuffer.data32 = outPtr.data();
        events.list.clear();
        for (const Automation& a : automation)
            if (a.frame >= at && a.frame < at + n) {
                events.list.push_back(paramEvent(a.id, a.value));
                events.list.back().header.time = static_cast<uint32_t>(a.frame - at);
            }
        clap_process_t process{};
        process.steady_time = at;
        process.frames_count = n;
        process.audio_inputs = &inBuffer;
        process.audio_outputs = &outBuffer;
        process.audio_inputs_count = process.audio_outputs_count = 1;
        process.in_events = &inEvents;
        process.out_events = &outEvents;
        tInProcess = true;
        const clap_process_status status = plugin->process(plugin, &process);
        tInProcess = false;
        if (status == CLAP_PROCESS_ERROR) fail("process() failed");
        ++blocks;
    }
    plugin->stop_processing(plugin);
    plugin->deactivate(plugin);
    plugin->destroy(plugin);
    entry->deinit();

    std::ofstream file(argv[6], std::ios::binary);
    file.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size() * sizeof(float)));
    if (!file) fail(std::string("cannot write ") + argv[6]);
    std::printf("allocations_in_process %ld blocking_calls_in_process %ld blocks %ld\n", gAllocations.load(),
                gBlocking.load(), blocks);
    return 0;
}
