// The fuzz targets' bodies: each takes one input, runs it through one of the parsers that face
// untrusted input, and checks what must hold for every input. The libFuzzer programs in
// tests/fuzz call them (and abort on a violation); the unit test fuzz_replay_test.cc replays the
// seed corpora and every input that once broke something through the same functions, so the
// regressions run in every build, sanitized or not.
//
// Each returns "" when every check held, or a description of the first violated one. A crash or
// a sanitizer report inside is, of course, also a finding. Inputs are arbitrary bytes.
//
// Threads: one call at a time per process (the API target shares the fake port plugin's global
// recorder).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rkfuzz {

// parsePortSpec, then formatPortSpec and validatePortSpec: a parsed spec formats to text that
// parses back to the same spec; every failure has a message.
std::string checkPortSpec(const uint8_t *data, size_t size);

// loadProfile on the input as a YAML profile (through a memfd, no file on disk): nothing
// escapes as an exception, and a failure is one line that starts with the profile's path.
std::string checkProfile(const uint8_t *data, size_t size);

// Up to eight HTTP/1.1 requests read from the input as Poco's server reads them (request line,
// headers; the body by Content-Length, or the rest of the input when chunked), each handled by
// handleApiRequest against a fake port driver, against one that lists its own ports, and without
// a port driver. Checks: no 500, JSON replies parse, the port table never holds two entries with
// one ID, and an ID once handed out never comes back after its port was removed.
std::string checkApiRequests(const uint8_t *data, size_t size);

// A plugin descriptor built from the input field by field (sizes, versions, kind, strings,
// capability bits, which functions are NULL, the file name), registered with
// PluginRegistry::addDescriptor and, when usable, paired by checkPairing with the built-in
// drivers. Checks: a plugin is usable exactly when it has no refusal, a usable one is found under
// its kind and name, and no function of the plugin is ever called.
std::string checkPluginDescriptor(const uint8_t *data, size_t size);

}  // namespace rkfuzz
