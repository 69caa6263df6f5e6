// rootlesskit-plugin-conformance: runs the conformance suite against one plugin.
#include "rootlesskit/conformance.h"

int main(int argc, char **argv) {
    return rkp::conformance::runnerMain(argc, argv);
}
