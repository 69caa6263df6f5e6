// Placeholder definitions so the tree links while modules are being written; each module's own
// file replaces its part of this file.
#include "core/api_server.h"
#include "core/cli.h"
#include "core/driver.h"
#include "core/plugin_loader.h"
#include "core/plugins_command.h"
#include "core/port_manager.h"
#include "core/profile.h"
#include "core/runtime.h"

namespace rootlesskit {
}  // namespace rootlesskit
