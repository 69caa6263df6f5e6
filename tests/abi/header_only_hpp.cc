// header_only_hpp.cc: rkp.hpp on its own, first and alone, compiled as C++17 with
// -Wall -Wextra -pedantic -Werror (tests/abi/CMakeLists.txt), with each helper instantiated.
#include "rootlesskit/rkp.hpp"

namespace {

const rkp_port_ops kOps = {
    sizeof(rkp_port_ops), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
const rkp_plugin kPlugin = {sizeof(rkp_plugin),
                            RKP_ABI_MAJOR,
                            RKP_ABI_MINOR,
                            RKP_KIND_PORT,
                            0,
                            "header-only",
                            "0",
                            "compile check",
                            RKP_SUP_TCP,
                            0,
                            nullptr,
                            "tcp",
                            nullptr,
                            nullptr,
                            nullptr,
                            &kOps};

}  // namespace

int headerOnlyHppCheck(const rkp_host *host, rkp_error *err, const rkp_sink *sink);

int headerOnlyHppCheck(const rkp_host *host, rkp_error *err, const rkp_sink *sink) {
    rkp::log(host, RKP_LOG_DEBUG, "value %d", 1);
    rkp::logMessage(host, RKP_LOG_INFO, "text");
    rkp::sinkWrite(sink, "{}");
    int code = rkp::guard(err, [] { throw rkp::Error(EINVAL, "config: unknown key \"x\""); });
    rkp::guard(err, [] {});
    return code + rkp::setError(err, -EIO, "%s", "io") + rkp::logEnabled(host, RKP_LOG_TRACE);
}

RKP_DEFINE_PLUGIN(kPlugin)
