// Expected failures as values: a Result<T> holds either a T or an Error whose
// message names what went wrong and where (ONNX node, map, interface, file).
// Only main() turns errors into exit codes (0 ok, 1 runtime error, 2 bad input).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace nnbpf {

enum class ErrorKind { BadInput = 2, Runtime = 1 };

struct Error {
  ErrorKind kind = ErrorKind::BadInput;
  std::string message;  // one line, no trailing newline

  static Error bad_input(std::string msg) { return {ErrorKind::BadInput, std::move(msg)}; }
  static Error runtime(std::string msg) { return {ErrorKind::Runtime, std::move(msg)}; }
  // Prefix the message with context ("model.onnx: ", "node 'fc1' (Gemm): ").
  Error with_context(const std::string& ctx) const { return {kind, ctx + message}; }
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}      // NOLINT(google-explicit-constructor)
  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<Error>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

}  // namespace nnbpf

// Propagate an error from an expression returning Result<...>.
#define NNBPF_TRY(var, expr)                     \
  auto var##_result_ = (expr);                   \
  if (!var##_result_.ok()) return var##_result_.error(); \
  auto& var = var##_result_.value()
#define NNBPF_CHECK(expr)                        \
  do {                                           \
    auto r_ = (expr);                            \
    if (!r_.ok()) return r_.error();             \
  } while (0)
