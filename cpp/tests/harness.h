// A minimal test harness: TEST(suite, name) registers a function; `semeq_dsp_tests <suite>` runs a
// suite and exits non-zero if any CHECK failed.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace harness {

struct Case {
    std::string suite, name;
    std::function<void()> fn;
};

inline std::vector<Case>& registry() {
    static std::vector<Case> cases;
    return cases;
}

inline int& failures() {
    static int count = 0;
    return count;
}

struct Registrar {
    Registrar(const char* suite, const char* name, std::function<void()> fn) {
        registry().push_back({suite, name, std::move(fn)});
    }
};

}  // namespace harness

#define HARNESS_CAT2(a, b) a##b
#define HARNESS_CAT(a, b) HARNESS_CAT2(a, b)
#define TEST(suite, name)                                                                       \
    static void suite##_##name();                                                               \
    static harness::Registrar HARNESS_CAT(reg_, __LINE__)(#suite, #name, &suite##_##name);      \
    static void suite##_##name()

#define CHECK(cond, ...)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            ++harness::failures();                                                              \
            std::printf("  FAILED %s:%d: %s ", __FILE__, __LINE__, #cond);                      \
            std::printf(__VA_ARGS__);                                                           \
            std::printf("\n");                                                                  \
        }                                                                                       \
    } while (0)
