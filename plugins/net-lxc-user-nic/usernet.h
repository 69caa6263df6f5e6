// /etc/lxc/lxc-usernet: which users may create how many veth devices on which bridge. The setuid
// lxc-user-nic refuses a user without an entry with nothing but "Quota reached"; the plugin reads
// the file first so that the error can say which line to add.
#pragma once

#include <string>
#include <vector>

namespace rootlesskit::lxc {

inline constexpr const char *kUsernetPath = "/etc/lxc/lxc-usernet";

// The number of devices the file allows user (or one of groups, written "@group") of type veth
// on bridge, summed over matching lines as lxc-user-nic does; -1 when the file cannot be read.
// Lines are "<user|@group> <type> <bridge> <count>"; '#' starts a comment.
long allowedVeths(const std::string &usernetText, const std::string &user,
                  const std::vector<std::string> &groups, const std::string &bridge);

// Checks that path lets user (and the groups it belongs to) attach a veth to bridge. Returns ""
// when it does, else the error text, naming the file and the line to add:
//   `/etc/lxc/lxc-usernet has no veth entry for user rktest on bridge lxcbr0: as root, add the
//   line "rktest veth lxcbr0 1" (the last field is how many sessions may run at once)`
std::string checkUsernet(const std::string &path, const std::string &bridge);

}  // namespace rootlesskit::lxc
