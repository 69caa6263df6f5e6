// errno text for Status messages.
#include "core/status.h"

#include <cctype>
#include <cstring>

namespace rootlesskit {

std::string errnoText(int err) {
    if (err < 0) {
        err = -err;
    }
    std::string text = std::strerror(err);
    // glibc capitalises the first word ("No such file or directory"); error lines are lowercase.
    if (!text.empty()) {
        text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    }
    return text;
}

}  // namespace rootlesskit
