// Status and Result: the error values every module returns.
#include <gtest/gtest.h>

#include "core/status.h"

namespace rootlesskit {
namespace {

TEST(StatusTest, WrapPrefixesContextAndKeepsCode) {
    Status s = Status::error("address already in use", EADDRINUSE).wrap("bind 127.0.0.1:8080");
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.message(), "bind 127.0.0.1:8080: address already in use");
    EXPECT_EQ(s.code(), EADDRINUSE);
}

TEST(StatusTest, WrapOfOkStaysOk) {
    EXPECT_TRUE(Status().wrap("anything").ok());
    EXPECT_EQ(Status().code(), 0);
}

TEST(StatusTest, ErrnoTextIsLowercase) {
    EXPECT_EQ(errnoText(ENOENT), "no such file or directory");
}

}  // namespace
}  // namespace rootlesskit
