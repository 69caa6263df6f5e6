// Sanitizer reports of the programs the end-to-end tests start: the environment that sends them
// to one directory, and the check that turns each one into a test failure.
#include "tests/support/sanitizer_reports.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/process.h"

namespace rktest {

namespace {

namespace fs = std::filesystem;

// The report directory, created on first use; removed at exit when this process created it and
// nothing was left in it.
class ReportDir {
public:
    ReportDir() {
        const char *given = std::getenv("RK_SANITIZER_REPORT_DIR");
        if (given != nullptr && *given != '\0') {
            path_ = given;
            return;
        }
        char tmpl[] = "/tmp/rk-san-XXXXXX";
        if (mkdtemp(tmpl) == nullptr) {
            std::abort();
        }
        path_ = tmpl;
        owned_ = true;
        giveToTestUser();
    }

    ~ReportDir() {
        std::error_code ec;
        if (owned_ && fs::is_empty(path_, ec)) {
            fs::remove(path_, ec);
        }
    }

    const std::string &path() const { return path_; }

private:
    // The programs run as the test user and write their reports as that user.
    void giveToTestUser() {
        std::string reason;
        std::optional<TestUser> user = testUser(&reason);
        if (geteuid() == 0 && user && chown(path_.c_str(), user->uid, user->gid) == 0) {
            chmod(path_.c_str(), 0755);
        }
    }

    std::string path_;
    bool owned_ = false;
};

ReportDir &reportDir() {
    static ReportDir dir;
    return dir;
}

// "<inherited>:<ours>", or ours alone.
std::string withInherited(const char *variable, const std::string &ours) {
    const char *inherited = std::getenv(variable);
    if (inherited == nullptr || *inherited == '\0') {
        return ours;
    }
    return std::string(inherited) + ":" + ours;
}

std::string readAll(const fs::path &path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

bool sanitizedBuild() {
#if defined(__SANITIZE_ADDRESS__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

std::map<std::string, std::string> sanitizerEnvironment() {
    if (!sanitizedBuild()) {
        return {};
    }
    const std::string &dir = reportDir().path();
    std::string exitCode = "exitcode=" + std::to_string(kSanitizerExitCode);
    std::map<std::string, std::string> env = {
        {"ASAN_OPTIONS", withInherited("ASAN_OPTIONS", "log_path=" + dir + "/asan:" + exitCode)},
        {"UBSAN_OPTIONS",
         withInherited("UBSAN_OPTIONS",
                       "log_path=" + dir + "/ubsan:print_stacktrace=1:" + exitCode)},
    };
    if (const char *lsan = std::getenv("LSAN_OPTIONS")) {
        env["LSAN_OPTIONS"] = lsan;
    }
    return env;
}

void failOnSanitizerReports() {
    if (!sanitizedBuild()) {
        return;
    }
    std::vector<fs::path> reports;
    std::error_code ec;
    for (fs::directory_iterator it(reportDir().path(), ec), end; !ec && it != end;
         it.increment(ec)) {
        std::error_code typeError;
        if (it->is_regular_file(typeError)) {
            reports.push_back(it->path());
        }
    }
    for (const fs::path &report : reports) {
        ADD_FAILURE() << "sanitizer report " << report.string() << ":\n" << readAll(report);
        std::error_code removeError;
        fs::remove(report, removeError);
    }
}

}  // namespace rktest
