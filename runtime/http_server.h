// A minimal HTTP/1.0 server for the metrics endpoint: one listening socket
// served by one thread, one request per connection, GET only. Enough for a
// Prometheus scraper on loopback or the node's address; no TLS, no keep-alive.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "compiler/support/result.h"

namespace nnbpf::runtime {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const std::string& path)>;

  // Binds "HOST:PORT" ("127.0.0.1:9464", "[::1]:9464", ":9464" = every
  // address). The handler runs on the server thread.
  static Result<std::unique_ptr<HttpServer>> start(const std::string& addr, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  const std::string& address() const { return addr_; }

 private:
  HttpServer() = default;
  void serve();
  void handle(int fd);

  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: written by the destructor to stop serve()
  std::string addr_;
  Handler handler_;
  std::thread thread_;
};

// Splits "HOST:PORT" / "[V6]:PORT" / ":PORT"; errors name the text.
Status parse_listen_addr(const std::string& text, std::string* host, uint16_t* port);

}  // namespace nnbpf::runtime
