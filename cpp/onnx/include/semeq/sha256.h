// SHA-256 of a file (FIPS 180-4), for checking a bundle's models against its manifest at load.
#pragma once

#include <string>

namespace semeq {

// Lower-case hex digest of the file at `path`; std::runtime_error if it cannot be read.
std::string sha256File(const std::string& path);

}  // namespace semeq
