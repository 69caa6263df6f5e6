// Prints a layout table (see layout_dump.h): `abi_layout_print frozen` for the frozen 1.0
// header, `abi_layout_print current` for the current one. The table of a new frozen version is
// made with it once, when that version is released, and never edited afterwards.
#include <cstdio>
#include <cstring>

#include "tests/abi/layout_dump.h"

int main(int argc, char **argv) {
    if (argc != 2 ||
        (std::strcmp(argv[1], "frozen") != 0 && std::strcmp(argv[1], "current") != 0)) {
        std::fprintf(stderr, "usage: abi_layout_print frozen|current\n");
        return 2;
    }
    rkabi::Layout layout = std::strcmp(argv[1], "frozen") == 0 ? rkabi::layoutOfFrozenV1_0()
                                                               : rkabi::layoutOfCurrent();
    for (const std::string &line : layout) {
        std::printf("%s\n", line.c_str());
    }
    return 0;
}
