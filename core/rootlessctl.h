// rootlessctl: the command-line client of the REST API (info, list-ports, add-ports,
// remove-ports), with output byte-compatible with upstream's rootlessctl.
//
// Runs in its own short-lived process, single-threaded. Every error ends up as one line
// "error: <message>" on the error stream and exit status 1.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "core/api_json.h"
#include "core/http_unix.h"
#include "core/port_manager.h"
#include "core/status.h"

namespace rootlesskit::ctl {

// Runs rootlessctl with args (argv without the program name), writing results to out and
// errors to err. Reads $ROOTLESSKIT_STATE_DIR when --socket is not given. Returns the exit
// status: 0 on success (and for help and --version), 1 on any error.
int run(const std::vector<std::string> &args, std::ostream &out, std::ostream &err);

// The error a non-2xx reply stands for: the "message" of a {"message": "..."} body, otherwise
// `unexpected HTTP status 404 Not Found, body="404 page not found\n"` (the body quoted as Go's
// %q does).
Status replyError(const HttpReply &reply);

// The list-ports table: a header line and one line per port, each column as wide as its widest
// cell plus four spaces (at least four), every cell followed by its padding, as Go's
// text/tabwriter prints it with minwidth 4, padding 4 and every cell tab-terminated.
std::string formatPortTable(const std::vector<PortStatus> &ports);

// The text of `rootlessctl info`.
std::string formatInfo(const InfoView &info);

// s quoted as Go's %q verb quotes a string: printable characters as they are, \a \b \f \n \r
// \t \v \\ \" escaped, other control bytes as \x.., invalid UTF-8 bytes as \x.., non-printable
// code points as \u....
std::string goQuote(const std::string &s);

}  // namespace rootlesskit::ctl
