// Reading /etc/lxc/lxc-usernet for the current user (see usernet.h).
#include "usernet.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace rootlesskit::lxc {
namespace {

// The user's name and the names of its groups (primary and supplementary).
bool currentIdentity(std::string *user, std::vector<std::string> *groups) {
    passwd pw{};
    passwd *found = nullptr;
    std::vector<char> buf(16384);
    if (getpwuid_r(getuid(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
        return false;
    }
    *user = pw.pw_name;
    int count = 64;
    std::vector<gid_t> gids(static_cast<size_t>(count));
    if (getgrouplist(pw.pw_name, pw.pw_gid, gids.data(), &count) < 0) {
        gids.resize(static_cast<size_t>(count));
        getgrouplist(pw.pw_name, pw.pw_gid, gids.data(), &count);
    }
    gids.resize(static_cast<size_t>(std::max(count, 0)));
    for (gid_t gid : gids) {
        group gr{};
        group *grFound = nullptr;
        std::vector<char> grBuf(16384);
        if (getgrgid_r(gid, &gr, grBuf.data(), grBuf.size(), &grFound) == 0 && grFound) {
            groups->push_back(gr.gr_name);
        }
    }
    return true;
}

}  // namespace

long allowedVeths(const std::string &usernetText, const std::string &user,
                  const std::vector<std::string> &groups, const std::string &bridge) {
    long total = 0;
    std::istringstream lines(usernetText);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream fields(line.substr(0, line.find('#')));
        std::string who, type, br;
        long count = 0;
        if (!(fields >> who >> type >> br >> count) || type != "veth" || br != bridge) {
            continue;
        }
        bool mine =
            who == user || (who.size() > 1 && who[0] == '@' &&
                            std::find(groups.begin(), groups.end(), who.substr(1)) != groups.end());
        if (mine && count > 0) {
            total += count;
        }
    }
    return total;
}

std::string checkUsernet(const std::string &path, const std::string &bridge) {
    std::string user;
    std::vector<std::string> groups;
    if (!currentIdentity(&user, &groups)) {
        return "";  // no name to look for: let lxc-user-nic decide
    }
    std::string addLine = "as root, add the line \"" + user + " veth " + bridge +
                          " 1\" to it (the last field is how many sessions may run at once)";
    std::ifstream in(path);
    if (!in) {
        return path + " cannot be read, and lxc-user-nic allows nothing without it: " + addLine;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (allowedVeths(text.str(), user, groups, bridge) > 0) {
        return "";
    }
    return path + " has no veth entry for user " + user + " on bridge " + bridge + ": " + addLine;
}

}  // namespace rootlesskit::lxc
