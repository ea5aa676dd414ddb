// BatchOutput: O_APPEND file descriptor, one write() per record; --resume reads the records back.
#include "cli/batch_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "sgp/error.h"

namespace sgp::cli {

namespace {

// The file's records (line -> input) and the byte length of its complete lines.
size_t read_records(const std::string& path, std::map<int, nlohmann::ordered_json>& records) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return 0;
  size_t kept = 0, offset = 0;
  int number = 0;
  std::string text;
  while (std::getline(in, text)) {
    ++number;
    bool complete = !in.eof();  // getline stopped at a newline
    size_t end = offset + text.size() + (complete ? 1 : 0);
    offset = end;
    if (text.find_first_not_of(" \t\r") == std::string::npos) {
      if (complete) kept = end;
      continue;
    }
    auto j = nlohmann::ordered_json::parse(text, nullptr, false);
    bool record = !j.is_discarded() && j.is_object() && j.contains("line") &&
                  j["line"].is_number_integer() && j.contains("input") &&
                  (j.contains("output") || j.contains("error"));
    if (!complete) {
      // A killed run can leave a torn last line; it is cut off and its input runs again.
      if (record) {
        records.try_emplace(j["line"].get<int>(), j["input"]);
        kept = end;
      }
      break;
    }
    if (!record)
      throw Error(path + ":" + std::to_string(number) +
                  ": not a batch result record; --resume needs the file an earlier "
                  "`sgrun run --batch --out` wrote");
    int line = j["line"].get<int>();
    if (!records.try_emplace(line, j["input"]).second)
      throw Error(path + ":" + std::to_string(number) + ": a second record for input line " +
                  std::to_string(line));
    kept = end;
  }
  return kept;
}

void write_all(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw Error("cannot write " + (path.empty() ? std::string("stdout") : path) + ": " +
                  std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

}  // namespace

BatchOutput::BatchOutput(const std::string& path, bool resume) : path_(path) {
  size_t keep = 0;
  bool newline_missing = false;
  if (resume) {
    keep = read_records(path, previous_);
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    // A complete record whose newline was lost gets one back before anything is appended.
    if (in && keep > 0 && static_cast<size_t>(in.tellg()) == keep) {
      in.seekg(static_cast<std::streamoff>(keep - 1));
      newline_missing = in.get() != '\n';
    }
  }
  int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (resume ? 0 : O_TRUNC);
  fd_ = ::open(path.c_str(), flags, 0644);
  if (fd_ < 0) throw Error("cannot write --out file " + path + ": " + std::strerror(errno));
  if (resume && ::ftruncate(fd_, static_cast<off_t>(keep)) != 0) {
    ::close(fd_);
    throw Error("cannot truncate --out file " + path + ": " + std::strerror(errno));
  }
  if (newline_missing) write_all(fd_, "\n", path_);
}

BatchOutput::~BatchOutput() {
  if (fd_ > 2) ::close(fd_);
}

bool BatchOutput::done(int line, const nlohmann::ordered_json& input) const {
  auto it = previous_.find(line);
  if (it == previous_.end()) return false;
  if (it->second != input)
    throw Error(path_ + " holds a result for input line " + std::to_string(line) +
                " with other arguments than the batch file has now; it belongs to another "
                "batch (use a new --out file)");
  return true;
}

void BatchOutput::write(const nlohmann::ordered_json& record) {
  std::string text =
      record.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + '\n';
  write_all(fd_, text, path_);
}

}  // namespace sgp::cli
