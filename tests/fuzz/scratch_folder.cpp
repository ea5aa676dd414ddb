// ScratchFolder: mkdtemp, whole-file rewrites, and removal of the folder at exit.
#include "scratch_folder.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace sgp::fuzz {

ScratchFolder::ScratchFolder() {
  std::error_code ec;
  std::string base = std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : "/tmp";
  std::string tmpl = base + "/sgp-fuzz-XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    std::perror("mkdtemp");
    std::abort();
  }
  path_ = tmpl;
}

ScratchFolder::~ScratchFolder() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void ScratchFolder::write(const std::string& name, std::string_view bytes) {
  std::ofstream out(path_ + "/" + name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::perror("scratch folder write");
    std::abort();
  }
}

void ScratchFolder::remove(const std::string& name) {
  std::error_code ec;
  std::filesystem::remove(path_ + "/" + name, ec);
}

}  // namespace sgp::fuzz
