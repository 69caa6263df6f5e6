# Longer ctest timeouts for the end-to-end tests that need more than the 120 s every end-to-end
# test gets (tests/CMakeLists.txt). ctest includes this file after the discovered tests.
set_tests_properties("LoadTest.HundredThousandSequentialConnectionsEachEchoTheirPayload"
  PROPERTIES TIMEOUT 600)
