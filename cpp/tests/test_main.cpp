#include "harness.h"

int main(int argc, char** argv) {
    const std::string suite = argc > 1 ? argv[1] : "";
    int run = 0;
    for (const harness::Case& c : harness::registry()) {
        if (!suite.empty() && c.suite != suite) continue;
        const int before = harness::failures();
        c.fn();
        std::printf("%s %s.%s\n", harness::failures() == before ? "ok  " : "FAIL", c.suite.c_str(), c.name.c_str());
        ++run;
    }
    if (run == 0) {
        std::printf("no tests in suite '%s'\n", suite.c_str());
        return 1;
    }
    return harness::failures() == 0 ? 0 : 1;
}
