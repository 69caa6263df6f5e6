// How much load the load tests put on the forwarder: their counts are meant for the normal
// build; a slower build (the sanitized one) may ask for smaller ones through the environment.
//
// Threads: any.
#pragma once

#include <cstdint>

namespace rktest {

// Returns the count named by the environment variable `variable` when it holds a positive
// decimal integer, else `normal`. A variable set to anything else is ignored, with a note on
// stderr, so that a typo cannot turn a load test into one that does nothing.
uint64_t loadCount(const char *variable, uint64_t normal);

}  // namespace rktest
