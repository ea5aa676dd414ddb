// ScriptedServer: a loopback HTTP server for client tests; a handler script answers each request.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sgp::test {

class ScriptedServer {
 public:
  struct Request {
    std::string method, target, body;
    std::map<std::string, std::string> headers;  // lower-case names
  };
  // What to send back: raw bytes, written piece by piece with a short pause in between (so a
  // client sees them as separate reads). hold: keep the connection open and silent afterwards,
  // until the client closes it or the server stops. close: close after this response.
  struct Reply {
    std::vector<std::string> pieces;
    bool hold = false;
    bool close = false;
  };
  using Handler = std::function<Reply(const Request&)>;

  explicit ScriptedServer(Handler handler);
  ~ScriptedServer();

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<Request> requests() const;
  // Connections the client closed while the server held them open.
  int closed_by_client() const { return closed_by_client_.load(); }

  // A complete HTTP/1.1 response with a JSON (or other) body.
  static std::string response(int status, const std::string& body,
                              const std::string& content_type = "application/json");
  // The head of a chunked text/event-stream response, and one chunk carrying one event.
  static std::string sse_head();
  static std::string sse_event(const std::string& data);
  static std::string sse_end();  // the last chunk

 private:
  void accept_loop();
  void serve(int fd);
  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> closed_by_client_{0};
  mutable std::mutex mu_;
  std::vector<Request> requests_;
  std::vector<std::thread> threads_;
  std::vector<int> open_fds_;
  std::thread acceptor_;
};

// A port nothing listens on (bound, then closed).
int unused_port();

}  // namespace sgp::test
