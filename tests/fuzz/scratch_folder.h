// ScratchFolder: a private temporary folder whose files each fuzz input rewrites, for loaders
// that take a folder (a Hugging Face model folder). Removed with its files at exit.
#pragma once

#include <string>
#include <string_view>

namespace sgp::fuzz {

class ScratchFolder {
 public:
  ScratchFolder();  // under /dev/shm when it exists (no disk writes per input), else /tmp
  ~ScratchFolder();
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;

  const std::string& path() const { return path_; }
  // Replaces the file `name` with `bytes`.
  void write(const std::string& name, std::string_view bytes);
  // Removes the file `name` if it exists.
  void remove(const std::string& name);

 private:
  std::string path_;
};

}  // namespace sgp::fuzz
