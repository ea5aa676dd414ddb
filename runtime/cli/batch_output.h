// BatchOutput: where `sgrun run --batch` records go: one JSON line per finished input, each
// written whole with one write() call, so an interrupted or killed run leaves valid JSONL.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace sgp::cli {

class BatchOutput {
 public:
  // Records go to stdout.
  BatchOutput() = default;
  // Records go to `path`. Without `resume` the file is truncated. With `resume` the records
  // already there are kept (a torn last line, left by a killed run, is cut off) and remembered,
  // so the caller can skip their inputs. Throws sgp::Error when the file cannot be opened, holds
  // something other than result records, or names one line twice.
  BatchOutput(const std::string& path, bool resume);
  ~BatchOutput();
  BatchOutput(const BatchOutput&) = delete;
  BatchOutput& operator=(const BatchOutput&) = delete;

  // True when a record for input line `line` was already in the file. Throws sgp::Error when
  // that record's input differs from `input` (the input file changed since the first run).
  bool done(int line, const nlohmann::ordered_json& input) const;
  size_t resumed() const { return previous_.size(); }

  // Appends one record as one line. Throws sgp::Error when the write fails (disk full...).
  void write(const nlohmann::ordered_json& record);

  const std::string& path() const { return path_; }  // empty: stdout

 private:
  std::string path_;
  int fd_ = 1;
  std::map<int, nlohmann::ordered_json> previous_;  // line -> input, from the resumed file
};

}  // namespace sgp::cli
