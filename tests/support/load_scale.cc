// The load tests' counts, read from the environment (see load_scale.h).
#include "tests/support/load_scale.h"

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <iostream>

namespace rktest {

uint64_t loadCount(const char *variable, uint64_t normal) {
    const char *value = std::getenv(variable);
    if (value == nullptr || *value == '\0') {
        return normal;
    }

    uint64_t count = 0;
    const char *end = value + std::strlen(value);
    auto [last, ec] = std::from_chars(value, end, count);
    if (ec != std::errc() || last != end || count == 0) {
        std::cerr << "load count " << variable << "=" << value
                  << ": not a positive integer; using " << normal << "\n";
        return normal;
    }
    return count;
}

}  // namespace rktest
