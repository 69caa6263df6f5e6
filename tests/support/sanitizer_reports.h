// Sanitizer reports of the programs the end-to-end tests start: in a build with AddressSanitizer
// (-DRK_SANITIZE=ON), every program the tests run gets ASAN_OPTIONS and UBSAN_OPTIONS that make
// it write its report into one directory and exit with kSanitizerExitCode, and the tests fail on
// every report found there. A report would otherwise go to the program's stderr, where a test
// that only checks the exit code, or a child process whose stderr nobody reads, would miss it.
//
// The directory is $RK_SANITIZER_REPORT_DIR when set (scripts/test.sh sets it, then checks that
// it is empty at the end of the run), else a directory this test process creates, owned by the
// test user, and removes at exit when empty.
//
// Threads: call from the test's main thread only.
#pragma once

#include <map>
#include <string>

namespace rktest {

// The exit code a sanitized program ends with after a report.
constexpr int kSanitizerExitCode = 86;

// True when this test program (and so the tree) was built with AddressSanitizer.
bool sanitizedBuild();

// Environment entries for a program the tests start: ASAN_OPTIONS, UBSAN_OPTIONS and
// LSAN_OPTIONS (the caller's own values first, then log_path and exitcode). Empty when the build
// is not sanitized.
std::map<std::string, std::string> sanitizerEnvironment();

// Reads every report written into the directory since the last call, removes it, and records a
// test failure (ADD_FAILURE) with its text. Does nothing when the build is not sanitized.
void failOnSanitizerReports();

}  // namespace rktest
