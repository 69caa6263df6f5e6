// rootlesskit: entry point. Parses the command line, then lists plugins or runs the command.
#include <cstdio>
#include <string>
#include <vector>

#include "core/cli.h"
#include "core/log.h"
#include "core/plugin_loader.h"
#include "core/plugins_command.h"
#include "core/runtime.h"

int main(int argc, char **argv) {
    using namespace rootlesskit;
    std::vector<std::string> args(argv + 1, argv + argc);

    initLogging("parent", false);
    auto parsed = parseCommandLine(args);
    if (!parsed) {
        reportError(parsed.status().message());
        return 1;
    }
    CliResult &cli = *parsed;
    initLogging("parent", cli.options.debug);

    switch (cli.action) {
        case CliAction::PrintHelp:
        case CliAction::PrintVersion:
        case CliAction::PrintSemver:
            std::fputs(cli.text.c_str(), stdout);
            return 0;
        case CliAction::PluginsList:
            return runPluginsList(PluginRegistry::discover(cli.options.pluginPath),
                                  cli.pluginsJson);
        case CliAction::Run:
            break;
    }
    return runParent(cli.options, PluginRegistry::discover(cli.options.pluginPath));
}
