// Defer: runs a callable when the scope ends unless cancelled.
#pragma once

#include <utility>

namespace hull {

template <typename F>
class [[nodiscard]] Defer {
 public:
  explicit Defer(F f) : f_(std::move(f)) {}
  ~Defer() {
    if (armed_) f_();
  }
  Defer(const Defer&) = delete;
  Defer& operator=(const Defer&) = delete;
  void Cancel() { armed_ = false; }

 private:
  F f_;
  bool armed_ = true;
};

}  // namespace hull
