#include "runtime/service.h"

#include <filesystem>
#include <iostream>
#include <memory>

#include "runtime/http_server.h"
#include "runtime/metrics.h"
#include "runtime/watch.h"

namespace nnbpf::runtime {

namespace {

// One HTTP request of the metrics endpoint.
HttpResponse metrics_response(Metrics& metrics, const std::string& path) {
  HttpResponse r;
  if (path == "/metrics") {
    auto text = metrics.render();
    if (text) {
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = *text;
    } else {
      r.status = 503;
      r.body = text.error().message + "\n";
    }
  } else if (path == "/") {
    r.body = "nnbpf: metrics at /metrics\n";
  } else {
    r.status = 404;
    r.body = "not found\n";
  }
  return r;
}

// --metrics-addr: the HTTP server, and the daemon's events fed to its metrics
// (after any observer already set).
Result<std::unique_ptr<HttpServer>> start_metrics(const std::string& addr, RunOptions& opts) {
  auto metrics = std::make_shared<Metrics>(opts.iface);
  auto prev = opts.observe;
  opts.observe = [metrics, prev](const nnbpf_event& e) {
    metrics->observe(e);
    if (prev) prev(e);
  };
  return HttpServer::start(addr, [metrics](const std::string& path) { return metrics_response(*metrics, path); });
}

}  // namespace

Status run_service(RunOptions opts, const ServiceOptions& svc) {
  const std::string tag = "nnbpf " + opts.who + ": ";
  const std::string model = opts.dir;
  std::string tmp;
  struct Cleanup {
    std::string* d;
    ~Cleanup() {
      std::error_code ec;
      if (!d->empty()) std::filesystem::remove_all(*d, ec);
    }
  } cleanup{&tmp};
  NNBPF_TRY(dir, compiled_dir_for(model, svc.compiler, &tmp));
  opts.dir = dir;

  std::unique_ptr<HttpServer> server;
  if (!svc.metrics_addr.empty()) {
    NNBPF_TRY(s, start_metrics(svc.metrics_addr, opts));
    server = std::move(s);
    std::cerr << tag << "metrics on http://" << svc.metrics_addr << "/metrics\n";
  }
  std::unique_ptr<ModelWatcher> watcher;
  if (svc.watch_model) {
    NNBPF_TRY(w, ModelWatcher::start(opts.iface, model, svc.compiler, tag));
    watcher = std::move(w);
    std::cerr << tag << "watching " << model << " for changes\n";
  }
  Status st = run_pipeline(opts);
  watcher.reset();
  server.reset();
  return st;
}

}  // namespace nnbpf::runtime
