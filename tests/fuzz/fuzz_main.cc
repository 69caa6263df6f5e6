// The libFuzzer entry of one fuzz program: runs the input through the check named by
// RK_FUZZ_CHECK (tests/support/fuzz_targets.h) and aborts on a violated property, so that
// libFuzzer keeps the input as a crash.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/support/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string problem = rkfuzz::RK_FUZZ_CHECK(data, size);
    if (!problem.empty()) {
        std::fprintf(stderr, "fuzz: %s\n", problem.c_str());
        std::abort();
    }
    return 0;
}
