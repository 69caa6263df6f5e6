// rootlessctl: entry point; the client itself lives in core/rootlessctl.cc.
#include <iostream>
#include <string>
#include <vector>

#include "core/rootlessctl.h"

int main(int argc, char **argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    int status = rootlesskit::ctl::run(args, std::cout, std::cerr);
    std::cout.flush();
    return status;
}
