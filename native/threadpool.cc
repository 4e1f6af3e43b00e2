#include "threadpool.h"

#include <algorithm>

namespace ctr {

ThreadPool& ThreadPool::instance() {
  static ThreadPool pool;
  return pool;
}

ThreadPool::ThreadPool() {
  unsigned hc = std::thread::hardware_concurrency();
  setThreads(hc == 0 ? 1 : (int)hc);
}

ThreadPool::~ThreadPool() { stopWorkers(); }

void ThreadPool::stopWorkers() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  stop_ = false;
}

void ThreadPool::setThreads(int n) {
  if (n < 1) n = 1;
  if (n == nthreads_ && (int)workers_.size() == n - 1) return;
  stopWorkers();
  nthreads_ = n;
  for (int i = 1; i < n; ++i) workers_.emplace_back([this, i] { workerLoop(i); });
}

void ThreadPool::workerLoop(int) {
  uint64_t seen = 0;
  for (;;) {
    // Spin briefly: kernels are issued back to back during a training step.
    for (int spin = 0; spin < 20000 && generation_.load(std::memory_order_acquire) == seen && !stop_; ++spin) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
    }
    const std::function<void(int)>* job;
    int ntasks;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return stop_ || generation_.load() != seen; });
      if (stop_) return;
      seen = generation_.load();
      job = job_;
      ntasks = ntasks_;
      if (!job) continue;  // woke after that job had already finished
      active_.fetch_add(1);
    }
    for (;;) {
      int t = next_.fetch_add(1);
      if (t >= ntasks) break;
      (*job)(t);
      pending_.fetch_sub(1, std::memory_order_release);
    }
    active_.fetch_sub(1, std::memory_order_release);
  }
}

void ThreadPool::run(int ntasks, const std::function<void(int)>& fn) {
  if (ntasks <= 0) return;
  if (nthreads_ == 1 || ntasks == 1 || inRun_) {
    for (int t = 0; t < ntasks; ++t) fn(t);
    return;
  }
  inRun_ = true;
  {
    std::lock_guard<std::mutex> lk(mu_);
    job_ = &fn;
    ntasks_ = ntasks;
    next_.store(0);
    pending_.store(ntasks);
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_all();
  for (;;) {
    int t = next_.fetch_add(1);
    if (t >= ntasks) break;
    fn(t);
    pending_.fetch_sub(1, std::memory_order_release);
  }
  while (pending_.load(std::memory_order_acquire) != 0) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    job_ = nullptr;
  }
  while (active_.load(std::memory_order_acquire) != 0) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }
  inRun_ = false;
}

}  // namespace ctr
