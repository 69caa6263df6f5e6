// Placeholder: the end-to-end support library is written with the runtime.
#include "tests/support/process.h"
